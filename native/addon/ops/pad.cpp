// Zero padding of H and W.
#include "ops.hpp"

namespace convkit {

std::unique_ptr<Job> parse_zero_pad(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 3, "zeroPad");
  const PadShape s = read_params<PadParams>(info[2]);
  validate(s);
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), y = f.get(info[1], "y");
  require_length(x, s.x_size(), "x");
  require_length(y, s.y_size(), "y");
  require_disjoint(y, "y", {{&x, "x"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.zero_pad(s, as<T>(x), as<T>(y), r);
  });
}

}  // namespace convkit
