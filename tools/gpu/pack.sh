#!/usr/bin/env bash
# builds .devpack-g (runtime + third-party jars) and .gpu-extra (this build's jars and test classes) in the checkout
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mkdir -p .git/info; for d in /.devpack-g/ /.gpu-extra/; do grep -qx "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
mvn -B -q -o install -DskipTests
mvn -B -q -o package -DskipTests -pl app
[ -s /tmp/app.cp ] || mvn -B -q dependency:build-classpath -pl app -Dmdep.outputFile=/tmp/app.cp
keep=()
for j in $(tr ':' '\n' < /tmp/app.cp); do
  b=$(basename "$j")
  case "$b" in
    testcontainers*|docker-java*|duct-tape*|jna*|kafka_2.13*|kafka-storage*|kafka-metadata*|kafka-group-coordinator*|kafka-raft*|kafka-server*|kafka-transaction*|kafka-coordinator*|kafka-share*|kafka-tools*|scala-*|jmh*|async-profiler*|flink-runtime-web*|*-tests.jar|*-test.jar|jqwik*|zstd-jni*|snappy*|tokenizers*|byte-buddy*|caffeine*|gdn-*|jopt*|commons-math3*|api-0.38*|kafka-clients*|frocksdbjni*|metrics-core*|argparse*|jose4j*|pcollections*|HdrHistogram*|opentest4j*|junit-*|apiguardian*) ;;
    *) keep+=("$j");;
  esac
done
# RocksDB: only its Linux x86-64 library
t=$(mktemp -d); (cd $t && unzip -q $(tr ':' '\n' < /tmp/app.cp | grep frocksdbjni) && find . -name '*.so' ! -name 'librocksdbjni-linux64.so' -delete; find . -name '*.jnilib' -delete; find . -name '*.dll' -delete; zip -q -r rocks.jar . ); mv $t/rocks.jar /tmp/frocksdb-linux64.jar; rm -rf $t
# the RPC loader's inner jar stored, so that xz sees its classes (about 11 MB less)
if [ ! -s /tmp/flink-rpc-akka-loader-stored.jar ]; then
  rm -rf /tmp/rpc && mkdir -p /tmp/rpc/inner && (cd /tmp/rpc && unzip -q $(tr ':' '\n' < /tmp/app.cp | grep rpc-akka-loader) && (cd inner && unzip -q ../flink-rpc-akka.jar) && rm flink-rpc-akka.jar && (cd inner && zip -q -0 -r -X ../flink-rpc-akka.jar .) && rm -rf inner && zip -q -0 -r -X /tmp/flink-rpc-akka-loader-stored.jar .)
fi
keep=("${keep[@]/*flink-rpc-akka-loader*/}")
keep+=(/tmp/flink-rpc-akka-loader-stored.jar /tmp/frocksdb-linux64.jar ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar)
printf '%s\n' "${keep[@]}" > /tmp/pack.list
keep=($(printf '%s\n' "${keep[@]}" | grep -v '^$'))
bash ../shared/tools/device-pack -o .devpack-g --repack "${keep[@]}" | tail -1 || true
t=$(mktemp -d); tar -C $t -xJf .devpack-g/cp.tar.xz; tar -C $t -cf - cp | xz -T0 -9e > .devpack-g/cp.tar.xz; rm -rf $t
rm -rf .gpu-extra; mkdir -p .gpu-extra/cp
cp tools/gpu/run.sh .gpu-extra/run.sh
cp $(tr ':' '\n' < /tmp/app.cp | grep commons-math3) .gpu-extra/cp/
cp app/target/gdn-app-*.jar flink-operator/target/gdn-flink-operator-*.jar kernels/target/gdn-kernels-*.jar state-backend/target/gdn-state-backend-*.jar .gpu-extra/cp/ 2>/dev/null || true
rm -f .gpu-extra/cp/*-tests.jar .gpu-extra/cp/*sources*.jar
(cd flink-operator/target/test-classes && zip -q -r ../../../.gpu-extra/cp/gpu-tests.jar dev log4j2-test.properties 2>/dev/null || zip -q -r ../../../.gpu-extra/cp/gpu-tests.jar dev)
(cd kernels/target/test-classes && zip -q -r ../../../.gpu-extra/cp/kernel-tests.jar dev)
# kafka-clients cut to what the bench touches (records, headers, serialization)
kc=$(tr ':' '\n' < /tmp/app.cp | grep 'kafka-clients-[0-9.]*\.jar$')
t=$(mktemp -d); (cd $t && unzip -q $kc 'org/apache/kafka/clients/producer/*' 'org/apache/kafka/common/*' 'kafka/*' 2>/dev/null; rm -rf org/apache/kafka/common/message org/apache/kafka/common/requests; zip -q -r slim.jar .); mv $t/slim.jar .gpu-extra/cp/kafka-slim.jar; rm -rf $t
du -sh .devpack-g .gpu-extra
ls -la .gpu-extra/cp
