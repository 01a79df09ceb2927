/* Extended control registers: XCR0, the state components XSAVE manages (SDM Vol. 1 13.3). */
#ifndef ARCH_XCR_H
#define ARCH_XCR_H

#define XCR0_X87       (1ull << 0)
#define XCR0_SSE       (1ull << 1)
#define XCR0_AVX       (1ull << 2)
#define XCR0_BNDREGS   (1ull << 3)
#define XCR0_BNDCSR    (1ull << 4)
#define XCR0_AVX512    (7ull << 5)  /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_TILECFG   (1ull << 17)
#define XCR0_TILEDATA  (1ull << 18)
#define XCR_INDEX_XCR0 0

#endif
