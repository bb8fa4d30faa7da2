#!/usr/bin/env bash
# moves what a GPU run does not read out of the checkout (back with unstash.sh)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
rm -rf /tmp/stash; mkdir -p /tmp/stash
for d in models app/src/test flink-operator/src/test state-backend/src/test benchmarks/src deploy docs; do
  [ -e "$d" ] && mkdir -p /tmp/stash/$(dirname $d) && mv $d /tmp/stash/$d
done
# kernels tests: keep only gdn-tiny and the manifest
mkdir -p /tmp/stash/kernels/src
mv kernels/src/test /tmp/stash/kernels/src/test
mkdir -p kernels/src/test/resources/fixtures/fla/models
cp /tmp/stash/kernels/src/test/resources/fixtures/fla/MANIFEST.json kernels/src/test/resources/fixtures/fla/
cp -r /tmp/stash/kernels/src/test/resources/fixtures/fla/models/gdn-gva-negeig kernels/src/test/resources/fixtures/fla/models/
du -sb . --exclude=.git | cut -f1 | awk '{printf "tree without .git: %.1f MiB\n", $1/1048576}'
