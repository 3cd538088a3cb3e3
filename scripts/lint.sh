#!/usr/bin/env bash
# Formatting and lint checks: Biome for the TypeScript and JavaScript (biome.json), clang-format
# for the C++ under native/ (.clang-format).
#   scripts/lint.sh          check only; exits nonzero on any violation (npm run lint, CI)
#   scripts/lint.sh --write  rewrites the files in the configured style (npm run format)
# Without clang-format installed (Debian: apt-get install clang-format) the C++ is left
# unchecked, with a notice; CI installs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

write=false
case "${1:-}" in
  "") ;;
  --write) write=true ;;
  *) echo "usage: scripts/lint.sh [--write]" >&2; exit 2 ;;
esac

status=0
biome=node_modules/.bin/biome
if $write; then
  "$biome" format --write .
else
  # Formatting and the lint rules together; warnings fail too.
  "$biome" check --error-on-warnings . || status=1
fi

# native/generated/ is written by scripts/generate-boundary.js, whose output a test compares.
mapfile -t cpp < <(find native -path native/generated -prune -o -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print | sort)
if ! command -v clang-format >/dev/null; then
  echo "lint: clang-format is not installed, ${#cpp[@]} C++ files not checked (apt-get install clang-format)" >&2
elif $write; then
  clang-format -i "${cpp[@]}"
else
  clang-format --dry-run -Werror "${cpp[@]}" || status=1
fi
exit $status
