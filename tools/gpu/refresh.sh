#!/usr/bin/env bash
# rebuilds this build's jars and test classes into .gpu-extra (the third-party pack stays)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mvn -B -q -o install -DskipTests
mvn -B -q -o test-compile -pl kernels,flink-operator
mvn -B -q -o package -DskipTests -pl app
mkdir -p .gpu-extra/cp
rm -f .gpu-extra/cp/gdn-*.jar .gpu-extra/cp/gpu-tests.jar .gpu-extra/cp/kernel-tests.jar
cp app/target/gdn-app-*.jar flink-operator/target/gdn-flink-operator-*.jar kernels/target/gdn-kernels-*.jar state-backend/target/gdn-state-backend-*.jar .gpu-extra/cp/
rm -f .gpu-extra/cp/*-tests.jar .gpu-extra/cp/*sources*.jar
(cd flink-operator/target/test-classes && zip -q -r ../../../.gpu-extra/cp/gpu-tests.jar dev)
(cd kernels/target/test-classes && zip -q -r ../../../.gpu-extra/cp/kernel-tests.jar dev)
cp tools/gpu/run.sh .gpu-extra/run.sh
cp $(tr ':' '\n' < /tmp/app.cp | grep commons-math3) .gpu-extra/cp/
ls -la .gpu-extra/cp | head -20
