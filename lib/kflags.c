// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include "kflags.h"

long long btf_enum_value(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	__u32 i, j, n = btf__type_cnt(btf);

	for (i = 1; i < n; i++) {
		t = btf__type_by_id(btf, i);
		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (j = 0; j < btf_vlen(t); j++)
			if (!strcmp(btf__name_by_offset(btf, e[j].name_off), name))
				return e[j].val;
	}
	return -ENOENT;
}

int kernel_cb_flags(uint32_t *mask, struct scb_error **err)
{
	struct btf *btf = btf__load_vmlinux_btf();
	long long v;

	if (!btf)
		return scb_error_set(err, SCB_ERR_KERNEL,
				     "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): %s",
				     strerror(errno));
	v = btf_enum_value(btf, "BPF_SOCK_OPS_ALL_CB_FLAGS");
	btf__free(btf);
	if (v < 0)
		return scb_error_set(err, SCB_ERR_KERNEL,
				     "the kernel's BTF has no BPF_SOCK_OPS_ALL_CB_FLAGS: no sock_ops callback flags");
	*mask = (uint32_t)v;
	return 0;
}
