/* Mirrors examples/nat.iov: stateless destination NAT. Non-IPv4 frames pass; IPv4 with
 * options or a short IPv4/UDP header is dropped; the destination is looked up in a hash
 * map; `translate` patches the IPv4 checksum and (when UDP and not 0) the UDP checksum
 * incrementally (RFC 1624), writes the private destination and counts the packet (per-CPU
 * array); a miss or `keep` passes the packet unchanged. */
#include "vs_c.h"

enum { NAT_TRANSLATE = 1, NAT_KEEP = 2 };

struct nat_entry {
    __u32 action;
    __u32 private_dst; /* network order */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32); /* public destination, network order */
    __type(value, struct nat_entry);
    __uint(max_entries, 1024);
} dnat SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 1);
} translated SEC(".maps");

SEC("xdp")
int xdp_nat(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->ver_ihl != 0x45)
        return XDP_DROP;
    struct udphdr *udp = 0;
    if (ip->protocol == IPPROTO_UDP) {
        udp = (void *)(ip + 1);
        if ((void *)(udp + 1) > end)
            return XDP_DROP;
    }
    __u32 dst = ip->daddr;
    struct nat_entry *e = bpf_map_lookup_elem(&dnat, &dst);
    if (!e || e->action != NAT_TRANSLATE)
        return XDP_PASS;
    __u32 to = e->private_dst;
    ip->check = csum_replace4(ip->check, dst, to);
    if (udp && udp->check)
        udp->check = csum_replace4(udp->check, dst, to);
    ip->daddr = to;
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&translated, &zero);
    if (n)
        (*n)++;
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
