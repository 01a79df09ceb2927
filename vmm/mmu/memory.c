/*
 * Guest memory: host frames for guest RAM from the frame allocator, EPT over
 * them, and checked guest-physical / guest-virtual access for exit handlers.
 */
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx.h>
#include <arch/vmx_state.h>
#include "vmm/gpt.h"
#include "vmm/hypercall.h"
#include "vmm/ept_mtrr.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/mmu_ops.h"
#include "vmm/backend.h"
#include "vmm/memory_setup.h"
#include "vmm/paging.h"
#include "vmm/status.h"
#include "vmm/vcpu.h"

#define PAGES_PER_2M (PAGE_SIZE_2M / PAGE_SIZE)
#define PAGES_PER_1G (PAGE_SIZE_1G / PAGE_SIZE)
#define SCATTER_SEED 0x9e3779b97f4a7c15ull /* fixed: runs stay reproducible */
#define MAXPHYADDR_MASK 0xffu
#define HV_MAX_BYTES GUEST_VIRT_MAX_LEN /* largest buffer a hypercall or emulated instruction may name */

static void *hpa_to_ptr(void *ctx, uint64_t hpa)
{
	(void)ctx;
	return phys_to_virt(hpa);
}

static uint64_t alloc_table(void *ctx)
{
	struct vmm_memory *m = ctx;
	uint64_t phys = pmm_alloc(m->pmm, 1, PAGE_SIZE);
	if (phys == PMM_NO_MEMORY)
		return 0;
	memset(phys_to_virt(phys), 0, PAGE_SIZE);
	return phys;
}

static uint64_t rdmsr_cb(void *ctx, uint32_t index)
{
	(void)ctx;
	return rdmsr(index);
}

/* Read once: CPUID exits to L0 when the monitor itself runs nested. */
static unsigned host_maxphyaddr(void)
{
	static unsigned bits;
	if (!bits)
		bits = cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_ADDR_SIZES
			       ? cpuid(CPUID_LEAF_ADDR_SIZES, 0).eax & MAXPHYADDR_MASK
			       : MTRR_DEFAULT_PHYS_BITS;
	return bits;
}

/* xorshift64: a small deterministic generator for ept_scatter. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Back guest RAM with host frames: 1 GiB / 2 MiB chunks where the allocator has them, else 4 KiB frames. */
static int allocate_guest_ram(struct vmm_memory *m, const struct hv_config *cfg, const struct vmx_caps *caps)
{
	const uint64_t pages = cfg->guest_mem / PAGE_SIZE;
	uint64_t *frames = m->frames;
	uint64_t i = 0;

	while (i < pages) {
		uint64_t chunk = 1, hpa = PMM_NO_MEMORY;
		if (!cfg->ept_scatter && caps->ept_1g && i % PAGES_PER_1G == 0 && pages - i >= PAGES_PER_1G &&
		    (hpa = pmm_alloc(m->pmm, PAGES_PER_1G, PAGE_SIZE_1G)) != PMM_NO_MEMORY) {
			chunk = PAGES_PER_1G, m->chunks_1g++;
		} else if (!cfg->ept_scatter && i % PAGES_PER_2M == 0 && pages - i >= PAGES_PER_2M &&
			   (hpa = pmm_alloc(m->pmm, PAGES_PER_2M, PAGE_SIZE_2M)) != PMM_NO_MEMORY) {
			chunk = PAGES_PER_2M, m->chunks_2m++;
		} else if ((hpa = pmm_alloc(m->pmm, 1, PAGE_SIZE)) != PMM_NO_MEMORY) {
			m->frames_4k++;
		} else {
			log_error("out of host memory after %llu of %llu MiB of guest RAM: lower guest_mem=",
				  (unsigned long long)(i * PAGE_SIZE >> 20), (unsigned long long)(cfg->guest_mem >> 20));
			return HV_ERR_NO_MEMORY;
		}
		memset(phys_to_virt(hpa), 0, chunk * PAGE_SIZE); /* never leak host data into the guest */
		for (uint64_t k = 0; k < chunk; k++)
			frames[i + k] = hpa + k * PAGE_SIZE;
		i += chunk;
	}
	if (cfg->ept_scatter) {
		/* Fisher-Yates shuffle: guest page n is backed by an unrelated host frame. */
		uint64_t seed = SCATTER_SEED;
		for (uint64_t k = pages - 1; k > 0; k--) {
			uint64_t j = next_random(&seed) % (k + 1), t = frames[k];
			frames[k] = frames[j], frames[j] = t;
		}
	}
	return HV_OK;
}

static int build_ept(struct vmm_memory *m, const struct vmx_caps *caps)
{
	const uint64_t pages = m->gm.size / PAGE_SIZE;
	m->ept = (struct ept){ .alloc_table = alloc_table, .hpa_to_ptr = hpa_to_ptr, .ctx = m,
			       .allow_2m = caps->ept_2m, .allow_1g = caps->ept_1g,
			       .maxphyaddr = host_maxphyaddr() };
	if (ept_init(&m->ept) != EPT_OK)
		return HV_ERR_NO_MEMORY;
	for (uint64_t i = 0; i < pages;) {
		uint64_t n = 1;
		while (i + n < pages && m->gm.frames[i + n] == m->gm.frames[i] + n * PAGE_SIZE)
			n++;
		int r = ept_map_with_mtrr_types(&m->ept, m->have_mtrrs ? &m->mtrr : NULL, i * PAGE_SIZE, m->gm.frames[i],
						n * PAGE_SIZE, EPT_RWX);
		if (r != EPT_OK) {
			log_error("building EPT for guest-physical %#llx failed (error %d)", (unsigned long long)(i * PAGE_SIZE), r);
			return r == EPT_ERR_NO_MEMORY ? HV_ERR_NO_MEMORY : HV_ERR_GENERIC;
		}
		i += n;
	}
	/* The EPT is new and no guest has run with it yet; flush anyway, as after every change (SDM 29.4.3.4). */
	m->eptp = ept_pointer(&m->ept, caps->ept_ad);
	backend_flush_second_level(caps, m->eptp);
	return HV_OK;
}

int vmm_memory_setup(struct vmm_memory *m, struct pmm *pmm, const struct hv_config *cfg,
		     const struct vmx_caps *caps, uint32_t mode)
{
	const uint64_t pages = cfg->guest_mem / PAGE_SIZE;
	const uint64_t array_pages = (pages * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t array;
	int status;

	memset(m, 0, sizeof(*m));
	m->pmm = pmm;
	m->mode = mode;
	/* Without MTRRs (CPUID.1:EDX.MTRR=0) memory types come from PAT alone: RAM is write-back. */
	m->have_mtrrs = (cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID_1_EDX_MTRR) != 0;
	if (m->have_mtrrs && mtrr_read(&m->mtrr, rdmsr_cb, 0, host_maxphyaddr()) != 0)
		log_warn("more variable MTRRs than the monitor keeps: memory types use the first %u", MTRR_MAX_VARIABLE);
	array = pmm_alloc(pmm, array_pages, PAGE_SIZE);
	if (array == PMM_NO_MEMORY) {
		log_error("no memory for the guest frame table (%llu pages)", (unsigned long long)array_pages);
		return HV_ERR_NO_MEMORY;
	}
	m->frames = phys_to_virt(array);
	m->gm = (struct guest_mem){ .size = cfg->guest_mem, .frames = m->frames, .hpa_to_ptr = hpa_to_ptr };
	if ((status = allocate_guest_ram(m, cfg, caps)) != HV_OK)
		return status;
	log_info("guest RAM: %llu MiB at guest-physical 0, backed by %llu x 1G + %llu x 2M chunks + %llu x 4K frames%s",
		 (unsigned long long)(cfg->guest_mem >> 20), (unsigned long long)m->chunks_1g,
		 (unsigned long long)m->chunks_2m, (unsigned long long)m->frames_4k,
		 cfg->ept_scatter ? " in shuffled order (ept_scatter=1)" : "");
	log_info("guest page 0 -> host %#llx, guest page %llu -> host %#llx", (unsigned long long)m->gm.frames[0],
		 (unsigned long long)(pages - 1), (unsigned long long)m->gm.frames[pages - 1]);
	if (mode == HV_MEM_SHADOW) {
		if ((status = shadow_init(&m->shadow, pmm, m->frames, cfg->guest_mem)) != HV_OK)
			return status;
		m->initial_cr3 = m->shadow.identity_root;
		return HV_OK;
	}
	if ((status = build_ept(m, caps)) != HV_OK)
		return status;
	log_info("EPT: %u table pages, EPTP %#llx (4-level, WB%s)", m->ept.table_pages, (unsigned long long)m->eptp,
		 caps->ept_ad ? ", accessed/dirty bits on" : "");
	return HV_OK;
}

int vmm_guest_phys_read(struct vmm_memory *m, uint64_t gpa, void *buf, uint64_t len)
{
	return guest_phys_read(&m->gm, gpa, buf, len) == 0 ? 0 : -1;
}

int vmm_guest_phys_write(struct vmm_memory *m, uint64_t gpa, const void *buf, uint64_t len)
{
	return guest_phys_write(&m->gm, gpa, buf, len) == 0 ? 0 : -1;
}

void vmm_guest_gpt_cpu(struct vcpu *v, struct gpt_cpu *cpu)
{
	/* Field by field (no memset: every guest-page walk of the monitor starts here). */
	*cpu = (struct gpt_cpu){
		.cr0 = v->guest_cr0,
		.cr4 = v->guest_cr4,
		.cr3 = mmu_guest_cr3(v),
		.efer = v->guest_efer,
		/* The guest's CPUID shows the CPU's own MAXPHYADDR and 1 GiB-page bit (vmm/exit/cpuid.c). */
		.maxphyaddr = v->caps->maxphyaddr,
		.page_1g = v->caps->page_1g,
		.rflags_ac = guest_rflags_ac_for_smap(v),
	};
	/* PAE paging walks from the PDPTE registers, not from the PDPT in memory (SDM 4.4.1). */
	if (gpt_mode_of(cpu) == GPT_MODE_PAE) {
		cpu->pdptes_valid = true;
		for (unsigned i = 0; i < GPT_PAE_PDPTES; i++)
			cpu->pdpte[i] = v->mmu->pdptes_in_registers ? vcpu_read(v, (enum vcpu_reg)(VCPU_PDPTE0 + i))
								     : v->pae_pdpte[i];
	}
}

static int virt_access(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, bool write, bool implicit,
		       uint64_t *pf_addr, uint32_t *pf_error)
{
	struct gpt_cpu cpu;
	struct guest_virt_fault fault = { 0, GPT_OK, 0 };
	int r;
	unsigned access = write ? GPT_ACCESS_WRITE : GPT_ACCESS_READ;
	vmm_guest_gpt_cpu(v, &cpu);
	/*
	 * Accesses on behalf of the guest carry its privilege: SGDT/SIDT/SLDT/STR also
	 * exit from ring 3, and must then obey the U/S bits like the CPU would
	 * (CPL = SS.DPL, SDM Vol. 3A 5.5).  Hypercalls are refused outside ring 0.
	 */
	if (vcpu_cpl(v) == CPL_USER && !implicit)
		access |= GPT_ACCESS_USER;
	if (implicit)
		cpu.rflags_ac = false; /* SMAP stops implicit supervisor accesses to user pages whatever AC says */
	r = guest_virt_access(&v->mem->gm, &cpu, gva, buf, len, HV_MAX_BYTES, access, &fault);
	if (r == GM_OK)
		return GUEST_ACCESS_OK;
	if (fault.gpt_result == GPT_PAGE_FAULT) {
		if (pf_addr)
			*pf_addr = fault.gva;
		if (pf_error)
			*pf_error = fault.pf_error_code;
		return GUEST_ACCESS_PAGE_FAULT;
	}
	return GUEST_ACCESS_BAD_POINTER;
}

int vmm_guest_virt_read(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr, uint32_t *pf_error)
{
	return virt_access(v, gva, buf, len, false, false, pf_addr, pf_error);
}

int vmm_guest_virt_write(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
			 uint32_t *pf_error)
{
	return virt_access(v, gva, (void *)buf, len, true, false, pf_addr, pf_error);
}

int vmm_guest_virt_read_implicit(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr,
				 uint32_t *pf_error)
{
	return virt_access(v, gva, buf, len, false, true, pf_addr, pf_error);
}

int vmm_guest_virt_write_implicit(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
				  uint32_t *pf_error)
{
	return virt_access(v, gva, (void *)buf, len, true, true, pf_addr, pf_error);
}

int vmm_translate(struct vcpu *v, uint64_t gva, struct hv_translation *out)
{
	struct gpt_cpu cpu;
	struct gpt_walk w;
	struct gpt_ops ops;

	vmm_guest_gpt_cpu(v, &cpu);
	cpu.cr4 &= ~(CR4_SMEP | CR4_SMAP); /* a lookup of the mapping, not an access by the guest */
	guest_mem_gpt_ops(&v->mem->gm, &ops);
	memset(out, 0, sizeof(*out));
	out->gva = gva;
	if (gpt_translate(&cpu, &ops, gva, GPT_ACCESS_READ, false, &w) != GPT_OK)
		return HC_ERR_NOT_MAPPED;
	out->gpa = w.gpa;
	out->guest_pte = w.leaf_pte;
	out->guest_page_size = w.page_size;
	if (v->mmu->gpa_to_hpa(v, w.gpa, &out->hpa, &out->host_page_size) != 0)
		return HC_ERR_NOT_MAPPED;
	return 0;
}

unsigned vmm_guest_fetch_instruction(struct vcpu *v, uint8_t buf[X86_INSN_MAX])
{
	const uint64_t rip = vcpu_read(v, VCPU_CS_BASE) + vcpu_read(v, VCPU_RIP);
	unsigned n = 0;
	while (n < X86_INSN_MAX && vmm_guest_virt_read_implicit(v, rip + n, buf + n, 1, 0, 0) == GUEST_ACCESS_OK)
		n++;
	return n;
}
