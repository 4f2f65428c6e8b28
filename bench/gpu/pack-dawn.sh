#!/usr/bin/env bash
# Packs `npm run bench:gpu -- --runtime=dawn` for a GPU server that has no Node, no node_modules and
# no network (how bench/gpu-results-*.md on a real GPU were made): one bundled script, Dawn's
# binding (npm `webgpu`, linux-x64 only) and this machine's node binary, xz-compressed, into DIR.
# On the server, from a checkout of the repository (models/ is read from the working directory):
#   python3 -c "import lzma,sys; [open(f[:-3],'wb').write(lzma.open(f).read()) for f in sys.argv[1:]]" $(find DIR -name '*.xz')
#   chmod +x DIR/node; DIR/node DIR/gpu-bench.mjs --runtime=dawn --out=bench/gpu-results-NAME
# (the Vulkan loader libvulkan.so.1 must be there; VK_ICD_FILENAMES picks the driver if needed).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: pack-dawn.sh DIR}
rm -rf "$dir" && mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"
npx esbuild bench/gpu-bench.ts --bundle --platform=node --format=esm --target=node20 --outfile="$dir/gpu-bench.mjs" \
  --external:webgpu --external:@playwright/test --external:vite --log-level=warning \
  "--banner:js=import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$dir/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$dir/node_modules/webgpu/dist/linux-x64/"
cp "$(command -v node)" "$dir/node"
xz -T2 -6 "$dir/gpu-bench.mjs" "$dir/node" "$dir/node_modules/webgpu/dist/linux-x64/dawn.node"
du -sh "$dir"
