/* The floor of benches/vs_c.rs: programs that return at once without reading the packet
 * (XDP_PASS at XDP, TC_ACT_OK at tc, in section "classifier", the name aya 0.14 knows), so
 * their time is the test run's own cost. */
#include "vs_c.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

SEC("classifier")
int tc_pass(struct __sk_buff *skb)
{
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
