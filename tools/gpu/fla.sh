#!/usr/bin/env bash
# FLA 0.5.2's source (the `fla` package, ~6 MiB) into .fla052 for a device call that makes the KDA fixtures:
#   carry [".fla052"], command "PYTHONPATH=.fla052 python3 tools/fixtures/kda_fixtures.py $OUT/kda"
# (the fixtures come back under the call's files; copy them to kernels/src/test/resources/fixtures/kda).
# The repository comes from the search tool's fetch (github:fla-org/flash-linear-attention); nothing of it is committed.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
repo=${FLA_REPO:-/work/.mirror/fla-org+flash-linear-attention/repo}
rm -rf "$root/.fla052" && mkdir -p "$root/.fla052"
git -C "$repo" archive v0.5.2 fla | tar -x -C "$root/.fla052"
grep -qx ".fla052" "$root/.git/info/exclude" || echo ".fla052" >> "$root/.git/info/exclude"
du -sh "$root/.fla052"
