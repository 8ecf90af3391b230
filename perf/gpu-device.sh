#!/usr/bin/env bash
# Times generation and training steps of the default model on a GPU machine (issue #3):
# tfjs's WebGPU backend through Dawn and Vulkan, then WebAssembly on the same machine's CPU.
#
#   perf/gpu-device.sh build   here: perf/gpu.ts bundled with the optional packages,
#                              Dawn and this node, into .gpu/run (git-ignored)
#   perf/gpu-device.sh run     there, carrying .gpu/run and .gl (the Vulkan loader's
#                              .debs): results and logs go to $OUT
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

build() {
  local extra=.gpu/pkg
  # Not dependencies of the project: Dawn is a native addon of 20 MB per platform
  mkdir -p $extra && echo '{"private": true}' >$extra/package.json
  npm install --prefix $extra --no-save --legacy-peer-deps --no-audit --no-fund webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 || return
  rm -rf $run/node_modules && mkdir -p $run
  npx esbuild perf/gpu.ts --bundle --platform=node --format=esm --target=node20 --log-level=error --outfile=$run/bench.mjs \
    --external:@tensorflow/tfjs-core --external:@tensorflow/tfjs-backend-cpu \
    --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" || return
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
  du -sh $run .gl
}

# xz, or Python's lzma where the machine has no xz
unxz_to() { xz -dc "$1" >"$2" 2>/dev/null || python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

device() {
  local out=${OUT:-/tmp/gpu-out} node=node
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
  # Capped: Dawn prints every failed GPU call, and tfjs goes on making them
  timeout -k 10 300 $node $run/bench.mjs --backend webgpu --steps 5 --matmul 2048 --batches 32,128 --singles 8 --json "$out/webgpu.json" 2>&1 | head -c 4000000 | tee "$out/webgpu.log"
  echo "webgpu: exit $? (124 = timed out)"
  timeout -k 10 150 $node $run/bench.mjs --backend wasm --steps 3 --shapes 4x512,8x256 --batches 32,128 --singles 32 --json "$out/wasm.json" 2>&1 | head -c 4000000 | tee "$out/wasm.log"
  echo "wasm: exit $? (124 = timed out)"
}

case "${1:-}" in
  build) build ;;
  run) device ;;
  *) echo "usage: perf/gpu-device.sh build|run" >&2 && exit 2 ;;
esac
