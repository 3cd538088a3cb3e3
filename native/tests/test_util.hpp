// Helpers shared by the native test programs.
#pragma once

#include <cstdlib>
#include <vector>

// CONVKIT_TEST_CASES=N keeps about N cases, spread evenly over the list (valgrind runs a
// reduced set); unset, all of them.
template <class T>
std::vector<T> spread_subset(std::vector<T> cases) {
  const char* env = std::getenv("CONVKIT_TEST_CASES");
  const size_t limit = env ? std::strtoul(env, nullptr, 10) : 0;
  if (limit == 0 || limit >= cases.size()) return cases;
  std::vector<T> kept;
  for (size_t i = 0; i < limit; ++i) kept.push_back(cases[i * cases.size() / limit]);
  return kept;
}
