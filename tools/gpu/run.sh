#!/usr/bin/env bash
# on the device: tests, then the operator benchmark; everything to stdout and $OUT
set -uo pipefail
root=$(pwd)
bash .devpack-g/java -version 2>&1 | head -1
CP="$(ls -d /tmp/devpack/cp/* | sort | tr '\n' ':')$(ls -d $root/.gpu-extra/cp/* | tr '\n' ':')$root/kernels/src/test/resources"
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
J="/tmp/devpack/jre/bin/java --add-modules jdk.incubator.vector -Xmx100g -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp $CP"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
lscpu | grep "Model name"
W=${W:-15}
if [ "${TESTS:-1}" = 1 ]; then
  (cd flink-operator && $J org.junit.platform.console.ConsoleLauncher --disable-banner --details=tree --disable-ansi-colors \
    --select-class dev.gdn.operator.GpuBundleCoreTest \
    --select-class dev.gdn.kernels.cuda.CudaKdaTest \
    --select-class dev.gdn.kernels.cuda.CudaKdaRuleTest \
    --select-iteration 'method:dev.gdn.kernels.cuda.CudaResidentStreamsTest#memoriesLoadedTogetherIntoScatteredSlotsComeBackBitForBit(java.lang.String)[1]' \
    --select-iteration 'method:dev.gdn.kernels.cuda.CudaResidentStreamsTest#copiesMadeLaterHoldTheSlotsAsTheyWereWhileTheSlotsAdvance(java.lang.String)[1]' \
    --select-iteration 'method:dev.gdn.kernels.cuda.CudaResidentStreamsTest#residentSlotsGiveTheCopyPathsResultsBitForBit(java.lang.String)[1]' \
    2>&1 | grep -vE "^\s*$|INFO|WARN" | tail -40) | tee $OUT/tests.txt
fi
B="$J dev.gdn.run.OperatorBench --window $W"
{
$B --backend noop recall:256:1 2>&1 | grep -E "tok/s|Exception|Error"
$B --backend cuda ${CASES:-recall:256:1 recall:zipf:100000:256:20000 recall:zipf:100000:256:50000 recall:zipf:1000000:256:20000:rocksdb} 2>&1 | grep -E "tok/s|Exception|Error"
$B --backend cuda --sink-chained false recall:256:1 2>&1 | grep -E "tok/s|Exception|Error"
} | tee $OUT/bench.txt
