// Which ISA this translation unit compiles for, and that ISA's constants. Kernel code that
// differs per ISA lives in namespace convkit::CONVKIT_ISA (avx512, avx2 or generic), chosen here
// from the compiler's target flags: each ISA unit (isa_<name>.cpp) is built with its own -m
// flags and gets its own copy of every kernel and helper, so the linker cannot pick an AVX-512
// build of them for a generic caller. (The few shared inline helpers of common.hpp and
// checked.hpp, outside these namespaces, are still emitted by every unit.) A header checked
// alone (an editor, clang-tidy) gets the ISA of the flags it is given, by default generic.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define CONVKIT_ISA avx512
#define CONVKIT_ISA_AVX512 1
#include "isa/avx512.hpp"
#elif defined(__AVX2__) && defined(__FMA__)
#define CONVKIT_ISA avx2
#define CONVKIT_ISA_AVX2 1
#include "isa/avx2.hpp"
#else
#define CONVKIT_ISA generic
#define CONVKIT_ISA_GENERIC 1
#include "isa/generic.hpp"
#endif
