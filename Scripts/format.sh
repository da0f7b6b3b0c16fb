#!/usr/bin/env bash
# Formats every Swift file git knows with the toolchain's swift-format and
# the repository's .swift-format; `--lint` reports instead of rewriting.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=format
[[ ${1:-} == --lint ]] && mode=lint
git ls-files -z '*.swift' | xargs -0 swift format "$mode" --configuration .swift-format --parallel $([[ $mode == format ]] && echo --in-place)
