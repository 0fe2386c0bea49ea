/* What the hand-written C programs of benches/vs_c.rs share: the few kernel types, helper
 * declarations and libbpf-style map macros they use, written out so the programs build with
 * clang-19 alone (no kernel or libbpf headers needed). The layouts are those of the kernel's
 * UAPI (linux/bpf.h, linux/if_ether.h, linux/ip.h, linux/tcp.h, linux/udp.h). */
#ifndef VS_C_H
#define VS_C_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __always_inline inline __attribute__((always_inline))

#define bpf_htons(x) __builtin_bswap16(x)
#define bpf_ntohs(x) __builtin_bswap16(x)
#define bpf_htonl(x) __builtin_bswap32(x)
#define bpf_ntohl(x) __builtin_bswap32(x)

enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PERCPU_ARRAY = 6,
       BPF_MAP_TYPE_LPM_TRIE = 11 };
enum { BPF_F_NO_PREALLOC = 1 };
enum { XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4 };
enum { TC_ACT_OK = 0, TC_ACT_SHOT = 2 };

struct xdp_md {
    __u32 data;
    __u32 data_end;
    __u32 data_meta;
    __u32 ingress_ifindex;
    __u32 rx_queue_index;
    __u32 egress_ifindex;
};

/* struct __sk_buff up to data_end (offsets 76 and 80). */
struct __sk_buff {
    __u32 len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto;
    __u32 priority, ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid;
    __u32 data, data_end;
};

struct ethhdr {
    __u8 h_dest[6];
    __u8 h_source[6];
    __u16 h_proto;
};

struct vlanhdr {
    __u16 tci;
    __u16 proto;
};

struct iphdr {
    __u8 ver_ihl;
    __u8 tos;
    __u16 tot_len;
    __u16 id;
    __u16 frag_off;
    __u8 ttl;
    __u8 protocol;
    __u16 check;
    __u32 saddr;
    __u32 daddr;
};

struct udphdr {
    __u16 source, dest, len, check;
};

struct tcphdr {
    __u16 source, dest;
    __u32 seq, ack_seq;
    __u8 doff_res, flags;
    __u16 window, check, urg_ptr;
};

#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_SYN 0x02

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;

/* One {packets, bytes} per index (a per-CPU array value). */
struct pkts_bytes {
    __u64 packets;
    __u64 bytes;
};

/* RFC 1624 (eqn. 3): the checksum `check` (network order) after a 32-bit field changes
 * from `from` to `to` (both network order). */
static __always_inline __u16 csum_replace4(__u16 check, __u32 from, __u32 to)
{
    __u32 sum = (__u16)~check;
    sum += (__u16)~from + (__u16)~(from >> 16) + (__u16)to + (__u16)(to >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

#endif
