// Reset handler, vector table, fault reporting and stack painting for the
// Cortex-M3/M4 test programs. No CMSIS, no vendor code, no newlib startup.
#include <cstddef>
#include <cstdint>

#include "semihosting.h"
#include "stack.h"

extern "C" {
extern uint32_t __stack_bottom[];
extern uint32_t __stack_top[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
using InitFunction = void (*)();
extern InitFunction __init_array_start[];
extern InitFunction __init_array_end[];

int main();
[[noreturn]] void Reset_Handler();
void HardFault_Handler();
[[noreturn]] void Default_Handler();
}

namespace {

constexpr uint32_t kPaint = 0xC5A1C5A1u;

// ARMv7-M (Cortex-M3/M4/M7) has the configurable fault registers and CCR
// traps; ARMv6-M (Cortex-M0/M0+) has neither.
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
#define CAIRN_TARGET_ARMV7M 1
#else
#define CAIRN_TARGET_ARMV7M 0
#endif

// System Control Block registers.
inline volatile uint32_t& Register(uintptr_t address) {
  return *reinterpret_cast<volatile uint32_t*>(address);
}
constexpr uintptr_t kCcr = 0xE000ED14;   // Configuration and Control
constexpr uintptr_t kCfsr = 0xE000ED28;  // Configurable Fault Status
constexpr uintptr_t kHfsr = 0xE000ED2C;  // HardFault Status
constexpr uintptr_t kBfar = 0xE000ED38;  // BusFault Address
constexpr uint32_t kCcrUnalignTrap = 1u << 3;
constexpr uint32_t kCcrDiv0Trap = 1u << 4;

// Lowest stack address seen in use so far, and where the last paint began.
uint32_t* low_water = __stack_top;
uint32_t* paint_base = __stack_top;

[[gnu::always_inline]] inline uint32_t* CurrentSp() {
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

// Volatile stores: the compiler must not turn this into a memset call,
// whose own frame would sit in the area being painted.
[[gnu::always_inline]] inline void Paint(uint32_t* begin, uint32_t* end) {
  for (volatile uint32_t* p = begin; p < end; ++p) *p = kPaint;
}

uint32_t* DeepestTouched() {
  const volatile uint32_t* p = __stack_bottom;
  while (p < paint_base && *p == kPaint) ++p;
  return const_cast<uint32_t*>(p);
}

}  // namespace

namespace target {

// Words kept unpainted below the painting function's own stack pointer.
constexpr size_t kPaintMargin = 16;

[[gnu::noinline]] void PaintStack() {
  uint32_t* deepest = DeepestTouched();
  if (deepest < low_water) low_water = deepest;
  uint32_t* sp = CurrentSp();
  paint_base = sp;
  Paint(__stack_bottom, sp - kPaintMargin);
}

size_t StackUsedSincePaint() {
  uint32_t* deepest = DeepestTouched();
  if (deepest < low_water) low_water = deepest;
  return static_cast<size_t>(paint_base - deepest) * sizeof(uint32_t);
}

size_t StackPeak() {
  uint32_t* deepest = DeepestTouched();
  if (deepest < low_water) low_water = deepest;
  return static_cast<size_t>(__stack_top - low_water) * sizeof(uint32_t);
}

size_t StackSize() {
  return static_cast<size_t>(__stack_top - __stack_bottom) * sizeof(uint32_t);
}

}  // namespace target

extern "C" [[noreturn]] void Reset_Handler() {
  // Paint first: everything later counts toward the high-water mark.
  Paint(__stack_bottom, CurrentSp() - target::kPaintMargin);
  paint_base = __stack_top;

  const uint32_t* from = __data_load;
  for (uint32_t* to = __data_start; to < __data_end;) *to++ = *from++;
  for (uint32_t* p = __bss_start; p < __bss_end;) *p++ = 0;
  low_water = __stack_top;
  paint_base = __stack_top;

#if CAIRN_TARGET_ARMV7M
  // Division by zero always traps. With CAIRN_TARGET_STRICT_ALIGN every
  // unaligned load or store traps too, as on a Cortex-M0 or on a bus that
  // only takes aligned words; the program is then built with
  // -mno-unaligned-access so that only the code's own accesses can trap.
  // (ARMv6-M has no divide instruction and always traps unaligned
  // accesses; its CCR is read-only.)
  uint32_t ccr = Register(kCcr) | kCcrDiv0Trap;
#if defined(CAIRN_TARGET_STRICT_ALIGN)
  ccr |= kCcrUnalignTrap;
#endif
  Register(kCcr) = ccr;
  asm volatile("dsb\n isb" ::: "memory");
#endif

  for (InitFunction* f = __init_array_start; f < __init_array_end; ++f) (*f)();
  target::Exit(main());
}

// Reports where a fault happened, then fails the run (exit code 3).
extern "C" [[noreturn, gnu::used]] void ReportFault(const uint32_t* frame) {
#if CAIRN_TARGET_ARMV7M
  const uint32_t cfsr = Register(kCfsr);
  target::out() << "\nFAULT: HardFault pc=" << target::Hex{frame[6]}
                << " lr=" << target::Hex{frame[5]}
                << " cfsr=" << target::Hex{cfsr}
                << " hfsr=" << target::Hex{Register(kHfsr)}
                << " bfar=" << target::Hex{Register(kBfar)} << "\n";
  if ((cfsr & (1u << 24)) != 0) {
    target::out() << "FAULT: unaligned access (UFSR.UNALIGNED)\n";
  }
  if ((cfsr & (1u << 25)) != 0) {
    target::out() << "FAULT: division by zero (UFSR.DIVBYZERO)\n";
  }
#else
  // ARMv6-M has no fault status registers; an unaligned access is the
  // usual cause of a HardFault in this program.
  target::out() << "\nFAULT: HardFault pc=" << target::Hex{frame[6]}
                << " lr=" << target::Hex{frame[5]} << "\n";
#endif
  target::Exit(3);
}

// Passes the stacked exception frame (MSP or PSP, by EXC_RETURN bit 2) to
// ReportFault; written for ARMv6-M so that it assembles for every core.
extern "C" [[gnu::naked]] void HardFault_Handler() {
  asm volatile(
      "movs r0, #4\n"
      "mov r1, lr\n"
      "tst r0, r1\n"
      "bne 1f\n"
      "mrs r0, msp\n"
      "b 2f\n"
      "1: mrs r0, psp\n"
      "2: ldr r1, =ReportFault\n"
      "bx r1\n"
      ".ltorg\n");
}

extern "C" [[noreturn]] void Default_Handler() {
  uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  target::out() << "\nFAULT: unexpected exception " << ipsr << "\n";
  target::Exit(4);
}

// The C++ runtime hooks a freestanding program must supply itself.
extern "C" void __cxa_pure_virtual() {
  target::out() << "\nFAULT: pure virtual call\n";
  target::Exit(5);
}
extern "C" int __aeabi_atexit(void*, void (*)(void*), void*) { return 0; }
void* __dso_handle = nullptr;

namespace {

using Handler = void (*)();

// Cortex-M vector table: initial stack pointer, then the 15 system
// exceptions, then the device interrupts (none are enabled by this program;
// 32 entries cover the MPS2 UART and timer lines should one fire anyway).
struct VectorTable {
  uint32_t* initial_sp;
  Handler handlers[15 + 32];
};

[[gnu::used, gnu::section(".vectors")]] const VectorTable kVectors = {
    __stack_top,
    {
        Reset_Handler,      // 1  Reset
        Default_Handler,    // 2  NMI
        HardFault_Handler,  // 3  HardFault
        HardFault_Handler,  // 4  MemManage
        HardFault_Handler,  // 5  BusFault
        HardFault_Handler,  // 6  UsageFault
        nullptr,           nullptr,         nullptr,
        nullptr,          // 7-10 reserved
        Default_Handler,  // 11 SVCall
        Default_Handler,  // 12 DebugMonitor
        nullptr,          // 13 reserved
        Default_Handler,  // 14 PendSV
        Default_Handler,  // 15 SysTick
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,   Default_Handler, Default_Handler, Default_Handler,
    },
};

}  // namespace
