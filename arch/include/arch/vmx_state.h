/* Encodings used in VMCS guest-state and event-injection fields (SDM Vol. 3C 25.4, 25.8.3). */
#ifndef ARCH_VMX_STATE_H
#define ARCH_VMX_STATE_H

/* Segment access rights in the VMCS (SDM 25.4.1, Table 25-2). */
#define VMX_AR_TYPE_MASK  0xfu
#define VMX_AR_S          (1u << 4)
#define VMX_AR_DPL_SHIFT  5
#define VMX_AR_DPL(ar)    (((ar) >> VMX_AR_DPL_SHIFT) & 0x3u)
#define CPL_USER          3u /* the CPL is SS.DPL (SDM Vol. 3A 5.5) */
#define VMX_AR_P          (1u << 7)
#define VMX_AR_L          (1u << 13)
#define VMX_AR_DB         (1u << 14)
#define VMX_AR_G          (1u << 15)
#define VMX_AR_UNUSABLE   (1u << 16)

#define SEG_TYPE_DATA_RW_ACCESSED      0x3u
#define SEG_TYPE_CODE_XR_ACCESSED      0xbu
#define SEG_TYPE_LDT                   0x2u
#define SEG_TYPE_TSS16_BUSY            0x3u
#define SEG_TYPE_TSS_BUSY              0xbu  /* 32-bit TSS busy; 64-bit TSS busy in IA-32e mode */
#define SEG_TYPE_TSS_AVAILABLE         0x9u

/* Activity states (SDM 25.4.2). */
#define GUEST_ACTIVITY_ACTIVE   0
#define GUEST_ACTIVITY_HLT      1
#define GUEST_ACTIVITY_SHUTDOWN 2
#define GUEST_ACTIVITY_WAIT_SIPI 3

/* Interruptibility state (SDM 25.4.2, Table 25-3). */
#define GUEST_INTR_STATE_STI    (1u << 0) /* blocking by STI */
#define GUEST_INTR_STATE_MOV_SS (1u << 1) /* blocking by MOV SS / POP SS */

/* VM-entry interruption-information field (SDM 25.8.3, Table 25-17). */
#define INTR_INFO_VECTOR_MASK        0xffu
#define INTR_INFO_TYPE_SHIFT         8
#define INTR_INFO_TYPE_MASK          (0x7u << INTR_INFO_TYPE_SHIFT) /* bits 10:8 */
#define INTR_INFO_TYPE(info)         (((info) & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_EXTERNAL_INTERRUPT 0u
#define INTR_TYPE_NMI                2u
#define INTR_TYPE_HARD_EXCEPTION     3u
#define INTR_TYPE_SOFT_INTERRUPT     4u
#define INTR_TYPE_PRIV_SOFT_EXCEPTION 5u /* INT1 */
#define INTR_TYPE_SOFT_EXCEPTION     6u
#define INTR_INFO_DELIVER_ERROR_CODE (1u << 11)
#define INTR_INFO_VALID              (1u << 31)

/* RFLAGS (SDM Vol. 1 3.4.3). */
#define RFLAGS_CF        (1ull << 0)
#define RFLAGS_RESERVED1 (1ull << 1) /* always 1 */
#define RFLAGS_TF        (1ull << 8)
#define RFLAGS_IF        (1ull << 9)
#define RFLAGS_DF        (1ull << 10) /* string instructions step down */
#define RFLAGS_NT        (1ull << 14) /* nested task (SDM Vol. 3A 7.4) */
#define RFLAGS_VM        (1ull << 17)
#define RFLAGS_IOPL3     (3ull << 12) /* IOPL = 3 */
#define RFLAGS_AC        (1ull << 18) /* alignment check / SMAP access control (SDM Vol. 3A 4.6.1) */
#define RFLAGS_RESERVED_ZERO ((~0ull << 22) | (1ull << 15) | (1ull << 5) | (1ull << 3))

/* The VMCS link pointer must be all ones when VMCS shadowing is off (SDM 27.3.1.5). */
#define VMCS_LINK_POINTER_NONE (~0ull)

/* DR7 value at reset (SDM Vol. 3B 18.2.4). */
#define DR7_RESET_VALUE 0x400ull

#endif
