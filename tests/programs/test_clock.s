	.text
	.file	"test_clock"
	.file	0 "tests/programs" "test_clock.iov"
	.section	xdp,"ax",@progbits
	.globl	iov_main
	.p2align	3
	.type	iov_main,@function
iov_main:
.Lfunc_begin0:
	.loc	0 1 0
	.cfi_sections .debug_frame
	.cfi_startproc
	r6 = r1
	w1 = 0
.Ltmp0:
	.loc	0 17 1 prologue_end
.Ltmp1:
.Ltmp2:
	*(u32 *)(r10 - 8) = w1
	*(u32 *)(r10 - 4) = w1
	r2 = r10
	r2 += -8
	r1 = iov_packets ll
	call 1
	if r0 == 0 goto LBB0_2
	r1 = *(u64 *)(r0 + 0)
	r1 += 1
	*(u64 *)(r0 + 0) = r1
LBB0_2:
	w9 = *(u32 *)(r6 + 0)
	w7 = *(u32 *)(r6 + 4)
	#APP
	#NO_APP
	r2 = r9
	r2 += 22
	w8 = 1
	w1 = 1
	if r2 > r7 goto LBB0_4
	.loc	0 0 1 is_stmt 0
	w1 = 0
LBB0_4:
	.loc	0 6 19 is_stmt 1
.Ltmp3:
	r2 = r9
	r2 += 14
	if r2 > r7 goto LBB0_6
	.loc	0 0 19 is_stmt 0
	w8 = 0
LBB0_6:
	.loc	0 6 19
	w8 |= w1
	r1 = 32512
	if w8 != 0 goto LBB0_8
	.loc	0 0 19
	r1 = 14
LBB0_8:
	.loc	0 11 9 is_stmt 1
.Ltmp4:
	r9 += r1
	call 5
	#APP
	#NO_APP
	r1 = r9
	r1 += 8
	if r1 > r7 goto LBB0_10
	*(u8 *)(r9 + 7) = w0
	r1 = r0
	r1 >>= 8
	*(u8 *)(r9 + 6) = w1
	r1 = r0
	r1 >>= 16
	*(u8 *)(r9 + 5) = w1
	r1 = r0
	r1 >>= 24
	*(u8 *)(r9 + 4) = w1
	r1 = r0
	r1 >>= 32
	*(u8 *)(r9 + 3) = w1
	r1 = r0
	r1 >>= 40
	*(u8 *)(r9 + 2) = w1
	r1 = r0
	r1 >>= 48
	*(u8 *)(r9 + 1) = w1
	r0 >>= 56
	*(u8 *)(r9 + 0) = w0
LBB0_10:
	.loc	0 0 9 is_stmt 0
	w1 = 0
	.loc	0 12 9 is_stmt 1
.Ltmp5:
	*(u32 *)(r10 - 4) = w1
	r2 = r10
	r2 += -4
	r1 = last ll
	call 1
	r6 = r0
	#APP
	#NO_APP
	if r6 == 0 goto LBB0_12
	call 5
	#APP
	#NO_APP
	*(u64 *)(r6 + 0) = r0
LBB0_12:
	.loc	0 16 72
.Ltmp6:
	w8 &= 1
	w0 = 1
	if w8 != 0 goto LBB0_14
	.loc	0 0 72 is_stmt 0
	w0 = 3
LBB0_14:
	.loc	0 16 72
	exit
.Ltmp7:
.Ltmp8:
.Lfunc_end0:
	.size	iov_main, .Lfunc_end0-iov_main
	.cfi_endproc

	.type	iov_next,@object
	.section	.maps,"aw",@progbits
	.globl	iov_next
	.p2align	3, 0x0
iov_next:
	.zero	32
	.size	iov_next, 32

	.type	iov_packets,@object
	.globl	iov_packets
	.p2align	3, 0x0
iov_packets:
	.zero	32
	.size	iov_packets, 32

	.type	last,@object
	.globl	last
	.p2align	3, 0x0
last:
	.zero	32
	.size	last, 32

	.type	_license,@object
	.section	license,"aw",@progbits
	.globl	_license
_license:
	.asciz	"GPL"
	.size	_license, 4

	.type	iov_manifest,@object
	.section	.iov.manifest,"aw",@progbits
	.globl	iov_manifest
iov_manifest:
	.ascii	"{\n  \"version\": 1,\n  \"program\": \"test_clock\",\n  \"hook\": \"xdp\",\n  \"section\": \"xdp\",\n  \"function\": \"iov_main\",\n  \"tables\": [],\n  \"counters\": [],\n  \"registers\": [\n    {\n      \"name\": \"C.last\",\n      \"map\": \"last\",\n      \"size\": 1,\n      \"bits\": 64\n    }\n  ],\n  \"errors\": [\n    \"NoError\",\n    \"PacketTooShort\",\n    \"NoMatch\",\n    \"StackOutOfBounds\",\n    \"HeaderTooShort\",\n    \"ParserInvalidArgument\",\n    \"IpOptionsUnsupported\",\n    \"IpVersionUnsupported\",\n    \"IpTtlExpired\"\n  ],\n  \"verdict_map\": null,\n  \"chain\": {\n    \"next\": \"iov_next\",\n    \"packets\": \"iov_packets\"\n  }\n}"
	.size	iov_manifest, 570

	.section	.debug_abbrev,"",@progbits
	.byte	1
	.byte	17
	.byte	1
	.byte	37
	.byte	37
	.byte	19
	.byte	5
	.byte	3
	.byte	37
	.byte	114
	.byte	23
	.byte	16
	.byte	23
	.byte	27
	.byte	37
	.byte	17
	.byte	27
	.byte	18
	.byte	6
	.byte	115
	.byte	23
	.byte	0
	.byte	0
	.byte	2
	.byte	52
	.byte	0
	.byte	3
	.byte	37
	.byte	73
	.byte	19
	.byte	63
	.byte	25
	.ascii	"\210\001"
	.byte	15
	.byte	2
	.byte	24
	.byte	110
	.byte	37
	.byte	0
	.byte	0
	.byte	3
	.byte	19
	.byte	1
	.byte	11
	.byte	11
	.ascii	"\210\001"
	.byte	15
	.byte	0
	.byte	0
	.byte	4
	.byte	13
	.byte	0
	.byte	3
	.byte	37
	.byte	73
	.byte	19
	.ascii	"\210\001"
	.byte	15
	.byte	56
	.byte	11
	.byte	0
	.byte	0
	.byte	5
	.byte	15
	.byte	0
	.byte	73
	.byte	19
	.byte	51
	.byte	6
	.byte	0
	.byte	0
	.byte	6
	.byte	1
	.byte	1
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	7
	.byte	33
	.byte	0
	.byte	73
	.byte	19
	.byte	55
	.byte	11
	.byte	0
	.byte	0
	.byte	8
	.byte	36
	.byte	0
	.byte	3
	.byte	37
	.byte	62
	.byte	11
	.byte	11
	.byte	11
	.byte	0
	.byte	0
	.byte	9
	.byte	36
	.byte	0
	.byte	3
	.byte	37
	.byte	11
	.byte	11
	.byte	62
	.byte	11
	.byte	0
	.byte	0
	.byte	10
	.byte	46
	.byte	1
	.byte	17
	.byte	27
	.byte	18
	.byte	6
	.byte	64
	.byte	24
	.byte	110
	.byte	37
	.byte	3
	.byte	37
	.byte	58
	.byte	11
	.byte	59
	.byte	11
	.byte	39
	.byte	25
	.byte	73
	.byte	19
	.byte	63
	.byte	25
	.byte	0
	.byte	0
	.byte	11
	.byte	5
	.byte	0
	.byte	3
	.byte	37
	.byte	58
	.byte	11
	.byte	59
	.byte	11
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	0
	.section	.debug_info,"",@progbits
.Lcu_begin0:
	.long	.Ldebug_info_end0-.Ldebug_info_start0
.Ldebug_info_start0:
	.short	5
	.byte	1
	.byte	8
	.long	.debug_abbrev
	.byte	1
	.byte	0
	.short	2
	.byte	1
	.long	.Lstr_offsets_base0
	.long	.Lline_table_start0
	.byte	2
	.byte	3
	.long	.Lfunc_end0-.Lfunc_begin0
	.long	.Laddr_table_base0
	.byte	2
	.byte	3
	.long	46

	.byte	8
	.byte	2
	.byte	161
	.byte	0
	.byte	3
	.byte	3
	.byte	32
	.byte	8
	.byte	4
	.byte	4
	.long	82
	.byte	8
	.byte	0
	.byte	4
	.byte	7
	.long	111
	.byte	8
	.byte	8
	.byte	4
	.byte	8
	.long	132
	.byte	8
	.byte	16
	.byte	4
	.byte	9
	.long	132
	.byte	8
	.byte	24
	.byte	0
	.byte	5
	.long	91
	.long	0
	.byte	6
	.long	103
	.byte	7
	.long	107
	.byte	3
	.byte	0
	.byte	8
	.byte	5
	.byte	5
	.byte	4
	.byte	9
	.byte	6
	.byte	8
	.byte	7
	.byte	5
	.long	120
	.long	0
	.byte	6
	.long	103
	.byte	7
	.long	107
	.byte	1
	.byte	0
	.byte	5
	.long	141
	.long	0
	.byte	6
	.long	103
	.byte	7
	.long	107
	.byte	4
	.byte	0
	.byte	2
	.byte	10
	.long	164

	.byte	8
	.byte	2
	.byte	161
	.byte	1
	.byte	10
	.byte	3
	.byte	32
	.byte	8
	.byte	4
	.byte	4
	.long	200
	.byte	8
	.byte	0
	.byte	4
	.byte	7
	.long	111
	.byte	8
	.byte	8
	.byte	4
	.byte	11
	.long	221
	.byte	8
	.byte	16
	.byte	4
	.byte	13
	.long	234
	.byte	8
	.byte	24
	.byte	0
	.byte	5
	.long	209
	.long	0
	.byte	6
	.long	103
	.byte	7
	.long	107
	.byte	6
	.byte	0
	.byte	5
	.long	230
	.long	0
	.byte	8
	.byte	12
	.byte	8
	.byte	4
	.byte	5
	.long	243
	.long	0
	.byte	6
	.long	255
	.byte	7
	.long	107
	.byte	8
	.byte	0
	.byte	8
	.byte	14
	.byte	8
	.byte	1
	.byte	2
	.byte	15
	.long	270

	.byte	8
	.byte	2
	.byte	161
	.byte	2
	.byte	15
	.byte	3
	.byte	32
	.byte	8
	.byte	4
	.byte	4
	.long	306
	.byte	8
	.byte	0
	.byte	4
	.byte	7
	.long	111
	.byte	8
	.byte	8
	.byte	4
	.byte	11
	.long	221
	.byte	8
	.byte	16
	.byte	4
	.byte	13
	.long	234
	.byte	8
	.byte	24
	.byte	0
	.byte	5
	.long	315
	.long	0
	.byte	6
	.long	103
	.byte	7
	.long	107
	.byte	2
	.byte	0
	.byte	10
	.byte	3
	.long	.Lfunc_end0-.Lfunc_begin0
	.byte	1
	.byte	90
	.byte	16
	.byte	16
	.byte	0
	.byte	1

	.long	103

	.byte	11
	.byte	17
	.byte	0
	.byte	1
	.long	352
	.byte	0
	.byte	5
	.long	103
	.long	0
	.byte	0
.Ldebug_info_end0:
	.section	.debug_str_offsets,"",@progbits
	.long	76
	.short	5
	.short	0
.Lstr_offsets_base0:
	.section	.debug_str,"MS",@progbits,1
.Linfo_string0:
	.asciz	"iov"
.Linfo_string1:
	.asciz	"test_clock.iov"
.Linfo_string2:
	.asciz	"tests/programs"
.Linfo_string3:
	.asciz	"iov_next"
.Linfo_string4:
	.asciz	"type"
.Linfo_string5:
	.asciz	"int"
.Linfo_string6:
	.asciz	"__ARRAY_SIZE_TYPE__"
.Linfo_string7:
	.asciz	"max_entries"
.Linfo_string8:
	.asciz	"key_size"
.Linfo_string9:
	.asciz	"value_size"
.Linfo_string10:
	.asciz	"iov_packets"
.Linfo_string11:
	.asciz	"key"
.Linfo_string12:
	.asciz	"unsigned int"
.Linfo_string13:
	.asciz	"value"
.Linfo_string14:
	.asciz	"unsigned char"
.Linfo_string15:
	.asciz	"last"
.Linfo_string16:
	.asciz	"iov_main"
.Linfo_string17:
	.asciz	"ctx"
	.section	.debug_str_offsets,"",@progbits
	.long	.Linfo_string0
	.long	.Linfo_string1
	.long	.Linfo_string2
	.long	.Linfo_string3
	.long	.Linfo_string4
	.long	.Linfo_string5
	.long	.Linfo_string6
	.long	.Linfo_string7
	.long	.Linfo_string8
	.long	.Linfo_string9
	.long	.Linfo_string10
	.long	.Linfo_string11
	.long	.Linfo_string12
	.long	.Linfo_string13
	.long	.Linfo_string14
	.long	.Linfo_string15
	.long	.Linfo_string16
	.long	.Linfo_string17
	.section	.debug_addr,"",@progbits
	.long	.Ldebug_addr_end0-.Ldebug_addr_start0
.Ldebug_addr_start0:
	.short	5
	.byte	8
	.byte	0
.Laddr_table_base0:
	.quad	iov_next
	.quad	iov_packets
	.quad	last
	.quad	.Lfunc_begin0
.Ldebug_addr_end0:
	.section	.debug_names,"",@progbits
	.long	.Lnames_end0-.Lnames_start0
.Lnames_start0:
	.short	5
	.short	0
	.long	1
	.long	0
	.long	0
	.long	8
	.long	8
	.long	.Lnames_abbrev_end0-.Lnames_abbrev_start0
	.long	8
	.ascii	"LLVM0700"
	.long	.Lcu_begin0
	.long	1
	.long	3
	.long	0
	.long	5
	.long	0
	.long	6
	.long	0
	.long	8
	.long	193495088
	.long	-104093792
	.long	2090464345
	.long	-580267183
	.long	217009403
	.long	1405747133
	.long	-1304652851
	.long	-580307977
	.long	.Linfo_string5
	.long	.Linfo_string14
	.long	.Linfo_string15
	.long	.Linfo_string3
	.long	.Linfo_string6
	.long	.Linfo_string10
	.long	.Linfo_string12
	.long	.Linfo_string16
	.long	.Lnames0-.Lnames_entries0
	.long	.Lnames4-.Lnames_entries0
	.long	.Lnames6-.Lnames_entries0
	.long	.Lnames2-.Lnames_entries0
	.long	.Lnames1-.Lnames_entries0
	.long	.Lnames5-.Lnames_entries0
	.long	.Lnames3-.Lnames_entries0
	.long	.Lnames7-.Lnames_entries0
.Lnames_abbrev_start0:
	.byte	1
	.byte	36
	.byte	3
	.byte	19
	.byte	4
	.byte	25
	.byte	0
	.byte	0
	.byte	2
	.byte	52
	.byte	3
	.byte	19
	.byte	4
	.byte	25
	.byte	0
	.byte	0
	.byte	3
	.byte	46
	.byte	3
	.byte	19
	.byte	4
	.byte	25
	.byte	0
	.byte	0
	.byte	0
.Lnames_abbrev_end0:
.Lnames_entries0:
.Lnames0:
.L5:
	.byte	1
	.long	103
	.byte	0
.Lnames4:
.L0:
	.byte	1
	.long	255
	.byte	0
.Lnames6:
.L7:
	.byte	2
	.long	259
	.byte	0
.Lnames2:
.L6:
	.byte	2
	.long	35
	.byte	0
.Lnames1:
.L1:
	.byte	1
	.long	107
	.byte	0
.Lnames5:
.L4:
	.byte	2
	.long	153
	.byte	0
.Lnames3:
.L3:
	.byte	1
	.long	230
	.byte	0
.Lnames7:
.L2:
	.byte	3
	.long	327
	.byte	0
	.p2align	2, 0x0
.Lnames_end0:
	.section	.BTF,"",@progbits
	.short	60319
	.byte	1
	.byte	0
	.long	24
	.long	0
	.long	612
	.long	612
	.long	539
	.long	0
	.long	33554432
	.long	3
	.long	1
	.long	16777216
	.long	4
	.long	16777248
	.long	0
	.long	50331648
	.long	0
	.long	2
	.long	4
	.long	3
	.long	5
	.long	16777216
	.long	4
	.long	32
	.long	0
	.long	33554432
	.long	6
	.long	0
	.long	50331648
	.long	0
	.long	2
	.long	4
	.long	1
	.long	0
	.long	33554432
	.long	8
	.long	0
	.long	50331648
	.long	0
	.long	2
	.long	4
	.long	4
	.long	0
	.long	67108868
	.long	32
	.long	25
	.long	1
	.long	0
	.long	30
	.long	5
	.long	64
	.long	42
	.long	7
	.long	128
	.long	51
	.long	7
	.long	192
	.long	62
	.long	234881024
	.long	9
	.long	1
	.long	0
	.long	33554432
	.long	12
	.long	0
	.long	50331648
	.long	0
	.long	2
	.long	4
	.long	6
	.long	0
	.long	33554432
	.long	14
	.long	71
	.long	16777216
	.long	4
	.long	32
	.long	0
	.long	33554432
	.long	17
	.long	84
	.long	16777216
	.long	1
	.long	8
	.long	0
	.long	50331648
	.long	0
	.long	16
	.long	4
	.long	8
	.long	0
	.long	67108868
	.long	32
	.long	25
	.long	11
	.long	0
	.long	30
	.long	5
	.long	64
	.long	98
	.long	13
	.long	128
	.long	102
	.long	15
	.long	192
	.long	108
	.long	234881024
	.long	18
	.long	1
	.long	0
	.long	33554432
	.long	21
	.long	0
	.long	50331648
	.long	0
	.long	2
	.long	4
	.long	2
	.long	0
	.long	67108868
	.long	32
	.long	25
	.long	20
	.long	0
	.long	30
	.long	5
	.long	64
	.long	98
	.long	13
	.long	128
	.long	102
	.long	15
	.long	192
	.long	120
	.long	234881024
	.long	22
	.long	1
	.long	0
	.long	33554432
	.long	2
	.long	0
	.long	218103809
	.long	2
	.long	125
	.long	24
	.long	129
	.long	201326593
	.long	25
	.long	533
	.long	251658243
	.long	0
	.long	10
	.long	iov_next
	.long	32
	.long	19
	.long	iov_packets
	.long	32
	.long	23
	.long	last
	.long	32
	.byte	0
	.ascii	"int"
	.byte	0
	.ascii	"__ARRAY_SIZE_TYPE__"
	.byte	0
	.ascii	"type"
	.byte	0
	.ascii	"max_entries"
	.byte	0
	.ascii	"key_size"
	.byte	0
	.ascii	"value_size"
	.byte	0
	.ascii	"iov_next"
	.byte	0
	.ascii	"unsigned int"
	.byte	0
	.ascii	"unsigned char"
	.byte	0
	.ascii	"key"
	.byte	0
	.ascii	"value"
	.byte	0
	.ascii	"iov_packets"
	.byte	0
	.ascii	"last"
	.byte	0
	.ascii	"ctx"
	.byte	0
	.ascii	"iov_main"
	.byte	0
	.ascii	"xdp"
	.byte	0
	.ascii	"tests/programs/test_clock.iov"
	.byte	0
	.ascii	"// Code generation test: in test builds `timestamp()` reads the clock the test sets."
	.byte	0
	.ascii	"xdp(P(), C(), D()) main;"
	.byte	0
	.ascii	"    state start { pkt.extract(hdr.eth); pkt.extract(hdr.time); transition accept; }"
	.byte	0
	.ascii	"        hdr.time.now = timestamp();"
	.byte	0
	.ascii	"        last.write(0, timestamp());"
	.byte	0
	.ascii	"deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.time); } }"
	.byte	0
	.ascii	".maps"
	.byte	0
	.section	.BTF.ext,"",@progbits
	.short	60319
	.byte	1
	.byte	0
	.long	32
	.long	0
	.long	20
	.long	20
	.long	108
	.long	128
	.long	0
	.long	8
	.long	138
	.long	1
	.long	.Lfunc_begin0
	.long	26
	.long	16
	.long	138
	.long	6
	.long	.Lfunc_begin0
	.long	142
	.long	172
	.long	1024
	.long	.Ltmp2
	.long	142
	.long	257
	.long	17409
	.long	.Ltmp3
	.long	142
	.long	282
	.long	6163
	.long	.Ltmp4
	.long	142
	.long	366
	.long	11273
	.long	.Ltmp5
	.long	142
	.long	402
	.long	12297
	.long	.Ltmp6
	.long	142
	.long	438
	.long	16456
	.section	.debug_line,"",@progbits
.Lline_table_start0:
