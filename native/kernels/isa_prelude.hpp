// System headers used by the .inl kernel sources. An ISA translation unit includes this first,
// then the .inl files inside an anonymous namespace, so that every ISA gets its own copy of every
// template (no ODR clash between code built with different -m flags).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "common.hpp"
#include "kernels.hpp"
