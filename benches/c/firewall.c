/* Mirrors examples/firewall.iov: TCP SYNs bump a one-slot register (array map); IPv4
 * packets are matched against an ACL scanned in priority order (an array of rules, each
 * source and destination value/mask, exact protocol and a TCP destination port range; the
 * first empty rule ends the scan, the first match wins); `deny` counts verdict 1 and drops,
 * `allow` (also a miss) counts verdict 0 and passes (per-CPU counters). Non-IPv4 frames
 * pass; a short IPv4/TCP/UDP header is dropped. */
#include "vs_c.h"

enum { ACL_ALLOW = 1, ACL_DENY = 2 };

struct acl_rule {
    __u32 priority; /* 0: empty, ends the scan */
    __u32 src, src_mask; /* network order */
    __u32 dst, dst_mask; /* network order */
    __u16 port_lo, port_hi; /* host order, both included */
    __u8 protocol;
    __u8 pad[3];
    __u32 action;
};

#define ACL_SIZE 1024

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct acl_rule);
    __uint(max_entries, ACL_SIZE);
} acl SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} verdicts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 1);
} syn_seen SEC(".maps");

static __always_inline void count(__u32 index)
{
    __u64 *n = bpf_map_lookup_elem(&verdicts, &index);
    if (n)
        (*n)++;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_DROP;
    __u16 port = 0;
    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)(ip + 1);
        if ((void *)(tcp + 1) > end)
            return XDP_DROP;
        port = bpf_ntohs(tcp->dest);
        if (tcp->flags & TCP_SYN) {
            __u32 zero = 0;
            __u64 *n = bpf_map_lookup_elem(&syn_seen, &zero);
            if (n)
                *n = *n + 1;
        }
    } else if (ip->protocol == IPPROTO_UDP) {
        if ((void *)(ip + 1) + sizeof(struct udphdr) > end)
            return XDP_DROP;
    }
    __u32 action = ACL_ALLOW;
    for (__u32 i = 0; i < ACL_SIZE; i++) {
        __u32 key = i; /* the index stays in a register the verifier tracks */
        struct acl_rule *r = bpf_map_lookup_elem(&acl, &key);
        if (!r || !r->priority)
            break;
        if ((ip->saddr & r->src_mask) == r->src && (ip->daddr & r->dst_mask) == r->dst &&
            ip->protocol == r->protocol && port >= r->port_lo && port <= r->port_hi) {
            action = r->action;
            break;
        }
    }
    if (action == ACL_DENY) {
        count(1);
        return XDP_DROP;
    }
    count(0);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
