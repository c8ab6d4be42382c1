"""The PyTorch side of `npm run bench:images`: the same workload through torch's DataLoader and Pillow.

torchvision is not needed (nor loaded): its RandomResizedCrop, RandomHorizontalFlip, ToTensor and Normalize
are written below with Pillow and torch, with torchvision's semantics. The one difference from torchvision is
the decode: Pillow's `draft()` (libjpeg's DCT scaling, its shrink-on-load) decodes at 1/2, 1/4 or 1/8 when
the crop box so reduced still covers the output, as weft's libvips decode does; torchvision's own decode
does not use it. The crop box is kept exact after the draft (Pillow's `resize` takes a float box).

Driven by the Node bench over stdin/stdout, one line each: `in-process` or `workers` runs one epoch with
that loader and answers `ms <milliseconds>`; `quit` ends. The loaders are built and warmed up first.
"""

import math
import os
import random
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

ROOT = sys.argv[1]
SIZE = 224
BATCH = 64
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
SCALE = (0.08, 1.0)
RATIO = (3 / 4, 4 / 3)


def get_params(width, height):
    """torchvision's RandomResizedCrop.get_params: ten attempts, then the centre crop clamped to RATIO."""
    area = height * width
    log_ratio = (math.log(RATIO[0]), math.log(RATIO[1]))
    for _ in range(10):
        target_area = area * random.uniform(*SCALE)
        aspect_ratio = math.exp(random.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            return random.randint(0, height - h), random.randint(0, width - w), h, w
    in_ratio = width / height
    if in_ratio < min(RATIO):
        w, h = width, int(round(width / min(RATIO)))
    elif in_ratio > max(RATIO):
        h, w = height, int(round(height * max(RATIO)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class Folder(Dataset):
    """torchvision's ImageFolder listing (sorted classes, sorted files) and its training transforms."""

    def __init__(self, root):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.samples = [
            (os.path.join(root, c, f), k)
            for k, c in enumerate(self.classes)
            for f in sorted(os.listdir(os.path.join(root, c)))
        ]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with open(path, "rb") as f:
            img = Image.open(f)
            width, height = img.size
            i, j, h, w = get_params(width, height)
            # Shrink-on-load: the largest 1/s (s = 8, 4, 2) at which the box still covers the output.
            s = next((s for s in (8, 4, 2) if w / s >= SIZE and h / s >= SIZE), 1)
            if s > 1:
                img.draft("RGB", (math.ceil(width / s), math.ceil(height / s)))
            img = img.convert("RGB")
        fx, fy = img.size[0] / width, img.size[1] / height
        img = img.resize((SIZE, SIZE), Image.Resampling.BILINEAR, box=(j * fx, i * fy, (j + w) * fx, (i + h) * fy))
        if random.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        # ToTensor and Normalize.
        x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(SIZE, SIZE, 3)
        x = x.permute(2, 0, 1).contiguous().float().div_(255)
        return x.sub_(MEAN).div_(STD), label


def main():
    # One thread in the main process, as weft's in-process loader uses one libvips thread.
    torch.set_num_threads(1)
    folder = Folder(ROOT)
    loaders = {
        "in-process": DataLoader(folder, batch_size=BATCH, shuffle=True),
        "workers": DataLoader(folder, batch_size=BATCH, shuffle=True, num_workers=2, persistent_workers=True),
    }

    def epoch(name):
        t = time.perf_counter()
        for _ in loaders[name]:
            pass
        return (time.perf_counter() - t) * 1000

    for name in loaders:
        epoch(name)
    print("ready", len(folder), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name == "quit":
            break
        print(f"ms {epoch(name):.1f}", flush=True)


if __name__ == "__main__":
    main()
