#!/usr/bin/env bash
# Benchmarks for a GPU machine that has no network and no node_modules: tfjs's WebGPU
# backend through Dawn and Vulkan, then WebAssembly on the same machine's CPU.
#
#   perf/gpu-device.sh build           here: perf/gpu.ts (generation and training steps of the
#                                      default model, issue #3) bundled with the optional
#                                      packages, Dawn and this node, into .gpu/run (git-ignored)
#   perf/gpu-device.sh run             there, carrying .gpu/run and .gl (the Vulkan loader's
#                                      .debs): results and logs go to $OUT
#   perf/gpu-device.sh build-trainers  here: perf/gpu-trainers.ts (SFT, rejection sampling, policy
#                                      gradient and test EM of the large shape, issue #19) and its
#                                      files at run time, beside the same packages
#   perf/gpu-device.sh run-trainers    there, carrying the same: the GPU, then the CPU, then
#                                      their ratios of training tokens/s; under 8 minutes
set -uo pipefail
cd "$(dirname "$0")/.."
run=.gpu/run

# $1: a package folder; bundled into one CommonJS file under $run/node_modules, keeping
# tfjs-core and the CPU backend outside so that every bundle shares their one copy.
pack() {
  local name dir
  name=$(node -p "require('./$1/package.json').name") && dir=$run/node_modules/$name
  mkdir -p "$dir" && echo '{"main": "index.cjs"}' >"$dir/package.json"
  npx esbuild "./$1" --bundle --platform=node --format=cjs --log-level=error --outfile="$dir/index.cjs" \
    --external:@tensorflow/tfjs-core --external:@tensorflow/tfjs-backend-cpu
}

# $1: a TypeScript entry point, $2: its ES-module bundle, which imports the packages above
bundle() {
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --log-level=error --outfile="$2" \
    --external:@tensorflow/tfjs-core --external:@tensorflow/tfjs-backend-cpu \
    --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
}

# What every benchmark needs there: tfjs's packages, Dawn, node and the Vulkan loader
packages() {
  local extra=.gpu/pkg
  # Not dependencies of the project: Dawn is a native addon of 20 MB per platform
  mkdir -p $extra && echo '{"private": true}' >$extra/package.json
  npm install --prefix $extra --no-save --legacy-peer-deps --no-audit --no-fund webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 || return
  rm -rf $run/node_modules && mkdir -p $run
  for p in node_modules/@tensorflow/tfjs-core node_modules/@tensorflow/tfjs-backend-cpu node_modules/@tensorflow/tfjs-backend-wasm $extra/node_modules/@tensorflow/tfjs-backend-webgpu; do
    pack $p || return
  done
  cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm $run/node_modules/@tensorflow/tfjs-backend-wasm/
  # Dawn as published (its index.js finds dist/<platform>/dawn.node), compressed like node
  mkdir -p $run/node_modules/webgpu
  cp $extra/node_modules/webgpu/{package.json,index.js} $run/node_modules/webgpu/
  xz -T0 -c $extra/node_modules/webgpu/dist/linux-x64/dawn.node >$run/dawn.node.xz
  [ -s $run/node.xz ] || xz -T0 -c "$(command -v node)" >$run/node.xz # a minute; kept across builds
  # The Vulkan loader and GL dispatch as .debs, for a machine that lacks them
  if ! ls .gl/*.deb >/dev/null 2>&1; then
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p .gl /tmp/amd64/partial && apt-get $o update -qq &&
      (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2) || return
  fi
}

build() {
  packages && bundle perf/gpu.ts $run/bench.mjs && du -sh $run .gl
}

# Laid out as the compiled package is, the bundle in dist/src/ under a package root ($run),
# so that what the modules read beside themselves or at ../../ is found: the CPU kernels, the
# worker threads (./decoder-worker.js, LocalPolicy's; ./worker.js, the Code tool's QuickJS, which
# hopworld's environment offers, with its WebAssembly), the prompts, and package.json (the
# version that episodes record; "type": "module" makes the workers' .js ES modules).
build_trainers() {
  local dist=$run/dist/src
  packages || return
  rm -rf $run/dist $run/prompts && mkdir -p $dist/kernels $run/prompts
  bundle perf/gpu-trainers.ts $dist/gpu-trainers.mjs && bundle src/planner/decoder-worker.ts $dist/decoder-worker.js &&
    bundle tools/code/worker.ts $dist/worker.js || return
  cp src/lm/kernels/kernels.wasm $dist/kernels/ && cp prompts/*.txt $run/prompts/
  cp node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm $dist/
  node -p 'JSON.stringify({ name: "react-rl", version: require("./package.json").version, type: "module" })' >$run/package.json
  du -sh $run .gl
}

# xz, or Python's lzma where the machine has no xz
unxz_to() { xz -dc "$1" >"$2" 2>/dev/null || python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

# There: the GPU named, a node of 20 or later ($node), Dawn unpacked and the Vulkan loader found
setup() {
  out=${OUT:-/tmp/gpu-out} node=node
  mkdir -p "$out"
  nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  if ! node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' 2>/dev/null; then
    unxz_to $run/node.xz /tmp/node && chmod +x /tmp/node && node=/tmp/node
  fi
  echo "node $($node --version) at $(command -v $node)"
  mkdir -p $run/node_modules/webgpu/dist/linux-x64
  unxz_to $run/dawn.node.xz $run/node_modules/webgpu/dist/linux-x64/dawn.node
  # Dawn loads libvulkan.so.1, which finds the NVIDIA driver (libGLX_nvidia, which needs
  # libGLdispatch) through its ICD file
  if ! ldconfig -p | grep -q libvulkan.so.1 || ! ldconfig -p | grep -q libGLdispatch.so.0; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  ldconfig -p | grep -E 'libvulkan.so|libGLX_nvidia|libGLdispatch'
  export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} VK_LOADER_DEBUG=error
  VK_DRIVER_FILES=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name 'nvidia_icd*.json' 2>/dev/null | head -1)
  [ -n "$VK_DRIVER_FILES" ] && export VK_DRIVER_FILES && cat "$VK_DRIVER_FILES"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-(no NVIDIA ICD file found)}"
}

# $1: the name of the log and JSON under $out, $2: seconds at most; the rest: the script and its flags.
# Output capped: Dawn prints every failed GPU call, and tfjs goes on making them
timed_run() {
  local name=$1 limit=$2
  shift 2
  timeout -k 10 "$limit" $node "$@" --json "$out/$name.json" 2>&1 | head -c 4000000 | tee "$out/$name.log"
  echo "$name: exit ${PIPESTATUS[0]} (124 = timed out)"
}

device() {
  setup
  timed_run webgpu 300 $run/bench.mjs --backend webgpu --steps 5 --matmul 2048 --batches 32,128 --singles 8
  timed_run wasm 150 $run/bench.mjs --backend wasm --steps 3 --shapes 4x512,8x256 --batches 32,128 --singles 32
}

# The same short recipe on both: perf/gpu-trainers.ts's defaults (the large shape; SFT steps of 4
# episodes, 2 questions x 2 samples of rejection sampling, 1 x 4 of policy gradient, 4 test
# questions, 8 episodes at once), the CPU with 2 SFT steps rather than 3: about 1,000 tokens a step
# take 15 CPU seconds on M1 and about 1.6 times that on this machine's cores (BENCHMARKS.md). The
# CPU's rollouts decode on the kernels, a worker per core.
device_trainers() {
  setup
  timed_run trainers-webgpu 240 $run/dist/src/gpu-trainers.mjs --backend webgpu
  timed_run trainers-wasm 180 $run/dist/src/gpu-trainers.mjs --backend wasm --sft-steps 2
  # GPU / CPU, phase by phase; a phase either run did not reach has no ratio
  $node -e '
    const [gpu, cpu] = process.argv.slice(1).map((f) => { try { return JSON.parse(require("fs").readFileSync(f, "utf8")).phases; } catch { return {}; } });
    for (const [phase, key, what] of [["sft", "tokensPerSecond", "SFT tokens/s (after the first step)"], ["rs", "tokensPerSecond", "RS fine-tune tokens/s"], ["pg", "tokensPerSecond", "PG optimisation tokens/s"], ["rs", "episodesPerSecond", "RS sampling episodes/s"], ["pg", "episodesPerSecond", "PG sampling episodes/s"]]) {
      const [g, c] = [gpu[phase]?.[key], cpu[phase]?.[key]];
      console.log(`${what}: GPU ${g?.toFixed(2) ?? "-"}, CPU ${c?.toFixed(2) ?? "-"}, GPU / CPU ${g > 0 && c > 0 ? (g / c).toFixed(2) + "x" : "-"}`);
    }
    console.log(`test EM: GPU ${gpu.eval?.em ?? "-"}, CPU ${cpu.eval?.em ?? "-"}`);
  ' "$out/trainers-webgpu.json" "$out/trainers-wasm.json" | tee "$out/ratios.txt"
}

case "${1:-}" in
  build) build ;;
  run) device ;;
  build-trainers) build_trainers ;;
  run-trainers) device_trainers ;;
  *) echo "usage: perf/gpu-device.sh build|run|build-trainers|run-trainers" >&2 && exit 2 ;;
esac
