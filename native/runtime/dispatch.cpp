#include "dispatch.hpp"

#include <cstdlib>

#include "../kernels/common.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define CONVKIT_X86 1
#endif

namespace convkit {
namespace {

#if defined(CONVKIT_X86)
struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;
};

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_ymm = (xcr0_lo & 0x6) == 0x6;    // SSE and AVX state
  const bool os_zmm = (xcr0_lo & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2_fma = os_ymm && avx2 && fma;
  f.avx512 = f.avx2_fma && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}
#endif

}  // namespace

const KernelTable* kernel_table_named(const std::string& name) {
#if defined(CONVKIT_X86)
  const CpuFeatures f = detect();
  if (name == "avx512") return f.avx512 ? kernel_table_avx512() : nullptr;
  if (name == "avx2") return f.avx2_fma ? kernel_table_avx2() : nullptr;
#endif
  if (name == "generic") return kernel_table_generic();
  return nullptr;
}

namespace {

const KernelTable& select() {
  if (const char* forced = std::getenv("CONVKIT_ISA")) {
    std::string name(forced);
    if (!name.empty()) {
      if (name != "avx512" && name != "avx2" && name != "generic")
        throw Error(ErrorCode::ERR_ISA, "CONVKIT_ISA must be avx512, avx2 or generic, got '" + name + "'");
      const KernelTable* t = kernel_table_named(name);
      if (!t) throw Error(ErrorCode::ERR_ISA, "CONVKIT_ISA=" + name + " but this CPU or build does not support it");
      return *t;
    }
  }
  return *kernel_table_named(supported_isas().front());
}

}  // namespace

std::vector<std::string> supported_isas() {
  std::vector<std::string> out;
  for (const char* name : {"avx512", "avx2"})
    if (kernel_table_named(name)) out.push_back(name);
  out.push_back("generic");
  return out;
}

const KernelTable& active_kernels() {
  static const KernelTable& table = select();  // a throw leaves it unset: the next call retries
  return table;
}

}  // namespace convkit
