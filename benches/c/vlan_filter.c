/* Mirrors examples/vlan_filter.iov at tc ingress: untagged frames count verdict 0 and pass;
 * up to two VLAN tags (802.1Q or 802.1ad) are parsed and a third is rejected (verdict 1,
 * dropped); the outer VID is matched against rules scanned in priority order (an array of
 * VID value/mask pairs; the first empty rule ends the scan, the first match wins): `block`
 * counts the VID and verdict 1 and drops, `allow` (also a miss) counts verdict 0 and passes
 * (per-CPU counters). A truncated header is dropped. */
#include "vs_c.h"

enum { VID_BLOCK = 1, VID_ALLOW = 2 };

struct vid_rule {
    __u32 priority; /* 0: empty, ends the scan */
    __u16 vid, mask;
    __u32 action;
};

#define RULES 1024

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct vid_rule);
    __uint(max_entries, RULES);
} blocked_vids SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4096);
} blocked_by_vid SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} verdicts SEC(".maps");

static __always_inline void count(void *map, __u32 index)
{
    __u64 *n = bpf_map_lookup_elem(map, &index);
    if (n)
        (*n)++;
}

static __always_inline int is_vlan(__u16 proto)
{
    return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

SEC("classifier")
int tc_vlan_filter(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return TC_ACT_SHOT;
    if (!is_vlan(eth->h_proto)) {
        count(&verdicts, 0);
        return TC_ACT_OK;
    }
    struct vlanhdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > end)
        return TC_ACT_SHOT;
    if (is_vlan(outer->proto)) {
        struct vlanhdr *inner = outer + 1;
        if ((void *)(inner + 1) > end)
            return TC_ACT_SHOT;
        if (is_vlan(inner->proto)) {
            count(&verdicts, 1);
            return TC_ACT_SHOT;
        }
    }
    __u16 vid = bpf_ntohs(outer->tci) & 0x0fff;
    __u32 action = VID_ALLOW;
    for (__u32 i = 0; i < RULES; i++) {
        __u32 key = i; /* the index stays in a register the verifier tracks */
        struct vid_rule *r = bpf_map_lookup_elem(&blocked_vids, &key);
        if (!r || !r->priority)
            break;
        if ((vid & r->mask) == r->vid) {
            action = r->action;
            break;
        }
    }
    if (action == VID_BLOCK) {
        count(&blocked_by_vid, vid);
        count(&verdicts, 1);
        return TC_ACT_SHOT;
    }
    count(&verdicts, 0);
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
