/* Mirrors examples/l2_switch.iov: every frame is counted (packets, bytes) by ingress ifindex;
 * a frame whose source MAC has the group bit set is dropped; broadcast goes to the kernel
 * (XDP_PASS); otherwise the destination MAC is looked up in a hash map: `forward` counts by
 * egress port and redirects, `to_kernel` and a miss pass, `discard` drops. */
#include "vs_c.h"

struct mac_key {
    __u8 addr[6];
};

enum { MAC_FORWARD = 1, MAC_TO_KERNEL = 2, MAC_DISCARD = 3 };

struct mac_entry {
    __u32 action;
    __u32 port;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct mac_key);
    __type(value, struct mac_entry);
    __uint(max_entries, 4096);
} mac_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct pkts_bytes);
    __uint(max_entries, 256);
} rx_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct pkts_bytes);
    __uint(max_entries, 256);
} tx_stats SEC(".maps");

static __always_inline void count(void *map, __u32 index, __u64 len)
{
    struct pkts_bytes *c = bpf_map_lookup_elem(map, &index);
    if (c) {
        c->packets++;
        c->bytes += len;
    }
}

SEC("xdp")
int xdp_l2_switch(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    __u64 len = end - data;
    count(&rx_stats, ctx->ingress_ifindex, len);
    if (eth->h_source[0] & 1)
        return XDP_DROP;
    __u32 lo;
    __u16 hi;
    __builtin_memcpy(&lo, eth->h_dest, 4);
    __builtin_memcpy(&hi, eth->h_dest + 4, 2);
    if (lo == 0xffffffff && hi == 0xffff)
        return XDP_PASS;
    struct mac_entry *e = bpf_map_lookup_elem(&mac_table, eth->h_dest);
    if (!e)
        return XDP_PASS;
    if (e->action == MAC_FORWARD) {
        count(&tx_stats, e->port, len);
        return bpf_redirect(e->port, 0);
    }
    return e->action == MAC_DISCARD ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
