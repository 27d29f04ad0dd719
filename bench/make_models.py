"""Exports the full-size reference models of the benchmarks (random weights, fixed seeds,
nothing downloaded) into build/bench/. Needs Debian's python3-torch; the files are large and
are generated, never committed. Every model has a dynamic batch axis (dim 0 of each input).

  resnet50      ResNet-50 (bottleneck v1.5), input 3x224x224, 1000 classes
  bert_base     BERT-base: 12 layers, 768 wide, 12 heads, FFN 3072, vocab 30522
  gpt2_small    GPT-2-small: 12 layers, 768 wide, 12 heads, vocab 50257 (prefill logits)
  mamba2_stack  4 Mamba2 blocks, d_model 768, d_state 128, headdim 64, chunk 64

Usage: /usr/bin/python3 bench/make_models.py [NAME ...]
"""
import inspect
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))
import generate as fixtures  # noqa: E402  (the fixture families, at full size here)

OUT = os.path.join(HERE, "..", "build", "bench")
OPSET = 17


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 block (stride on the 3x3 conv, "v1.5")."""

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for i in range(blocks):
                layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * 4
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.layers(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def batch_axes(inputs, outputs):
    return {n: {0: "batch"} for n in inputs + outputs}


def export(model, args, path, inputs, outputs):
    model.eval()
    # PyTorch 2.9 made the dynamo exporter the default; the TorchScript one gives the graphs
    # these benchmarks were written against (Debian's PyTorch has no `dynamo` argument).
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(model, args, path, opset_version=OPSET, input_names=inputs,
                          output_names=outputs, dynamic_axes=batch_axes(inputs, outputs),
                          do_constant_folding=True, **legacy)


def resnet50_module():
    """(module, example args, input names, output names); the weights depend on the seed alone."""
    torch.manual_seed(0)
    model = ResNet50()
    for m in model.modules():  # non-trivial BN statistics; EVAL export folds BN into Conv
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features) * 0.5 + 0.75)
    return model.eval(), (torch.randn(1, 3, 224, 224),), ["input"], ["logits"]


def bert_base_module():
    torch.manual_seed(0)
    model = fixtures.BertTiny(vocab=30522, hidden=768, heads=12, inter=3072, layers=12,
                              max_pos=512)
    ids = torch.randint(0, 30522, (1, 128), dtype=torch.int64)
    mask = torch.ones(1, 128, dtype=torch.int64)
    return (model.eval(), (ids, mask), ["input_ids", "attention_mask"],
            ["last_hidden_state", "pooler_output"])


def resnet50(path):
    model, args, inputs, outputs = resnet50_module()
    export(model, args, path, inputs, outputs)


def bert_base(path):
    model, args, inputs, outputs = bert_base_module()
    export(model, args, path, inputs, outputs)


def gpt2_small(path):
    torch.manual_seed(0)
    model = fixtures.GPT2Tiny(vocab=50257, n_embd=768, n_head=12, n_layer=12, n_ctx=1024)
    ids = torch.randint(0, 50257, (1, 128), dtype=torch.int64)
    export(model, (ids,), path, ["input_ids"], ["logits"])


class Mamba2Stack(nn.Module):
    def __init__(self, d_model=768, n_layers=4):
        super().__init__()
        self.layers = nn.ModuleList([
            fixtures.Mamba2Block(d_model, d_state=128, headdim=64, chunk=64)
            for _ in range(n_layers)])
        self.norm_f = fixtures.RMSNorm(d_model, eps=1e-5)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(x)


def mamba2_stack(path):
    torch.manual_seed(0)
    export(Mamba2Stack(), (torch.randn(1, 256, 768),), path, ["hidden_states"], ["output"])


MODELS = {"resnet50": resnet50, "bert_base": bert_base, "gpt2_small": gpt2_small,
          "mamba2_stack": mamba2_stack}


def main(names):
    os.makedirs(OUT, exist_ok=True)
    for name in names or MODELS:
        if name not in MODELS:
            sys.exit(f"make_models.py: unknown model '{name}' (have: {', '.join(MODELS)})")
        path = os.path.join(OUT, name + ".onnx")
        if not os.path.exists(path):
            tmp = path + ".tmp"
            MODELS[name](tmp)
            os.replace(tmp, path)
        print(f"{path}: {os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
