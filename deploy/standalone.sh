#!/usr/bin/env bash
# Submit the gdn job to a standalone Flink 2.2 cluster (JobManager + TaskManagers already running).
#   FLINK_HOME=/opt/flink deploy/standalone.sh --gdn.model.path /models/recall \
#       --gdn.kafka.bootstrap-servers kafka:9092 [--gdn.state.backend rocksdb ...]
# The model folder must exist at the same path on every TaskManager. Add
#   env.java.opts.all: --add-modules jdk.incubator.vector
# to the cluster's config.yaml for the SIMD CPU kernels.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/flink-operator/target/gdn-job.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
exec "${FLINK_HOME:?set FLINK_HOME to the Flink 2.2 installation}/bin/flink" run -d -c dev.gdn.job.GdnJobMain "$jar" "$@"
