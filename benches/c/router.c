/* Mirrors examples/router.iov: non-IPv4 frames pass; IPv4 with options or a short header is
 * dropped; TTL <= 1 is dropped; the destination is looked up in an LPM trie; a hit on
 * `forward` rewrites both MACs, decrements the TTL (checksum patched incrementally, as the
 * kernel's ip_decrease_ttl does), counts packets and bytes per egress port (per-CPU array)
 * and redirects; a miss or a `drop_packet` entry drops. */
#include "vs_c.h"

struct route_key {
    __u32 prefixlen;
    __u32 addr; /* network order */
};

enum { ROUTE_FORWARD = 1, ROUTE_DROP = 2 };

struct route {
    __u32 action;
    __u32 port;
    __u8 dst_mac[6];
    __u8 src_mac[6];
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __type(key, struct route_key);
    __type(value, struct route);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct pkts_bytes);
    __uint(max_entries, 256);
} port_stats SEC(".maps");

SEC("xdp")
int xdp_router(struct xdp_md *ctx)
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
    if (ip->ttl <= 1)
        return XDP_DROP;
    struct route_key key = { .prefixlen = 32, .addr = ip->daddr };
    struct route *r = bpf_map_lookup_elem(&routes, &key);
    if (!r || r->action != ROUTE_FORWARD)
        return XDP_DROP;
    __builtin_memcpy(eth->h_dest, r->dst_mac, 6);
    __builtin_memcpy(eth->h_source, r->src_mac, 6);
    __u32 check = ip->check;
    check += bpf_htons(0x0100);
    ip->check = (__u16)(check + (check >= 0xffff));
    ip->ttl--;
    __u32 port = r->port;
    struct pkts_bytes *c = bpf_map_lookup_elem(&port_stats, &port);
    if (c) {
        c->packets++;
        c->bytes += end - data;
    }
    return bpf_redirect(port, 0);
}

char _license[] SEC("license") = "GPL";
