#!/usr/bin/env python3
"""Makes Kiln's test fixtures from real PyTorch: small models exported as ONNX
(torch.onnx.export, dynamo), torch.export archives (.pt2, both dialects) and TorchScript
(.pt), in float32 and bfloat16, each with PyTorch's own outputs as the reference.

Run on a machine with PyTorch 2.x, torchvision and transformers (the GPU machine):
    python3 tests/models/make_fixtures.py --out tests/models/fixtures
It also records, for full-size torchvision / Hugging Face models with random weights, the op
types each exporter emits (op_coverage.json), so tests can check Kiln supports all of them
without committing large files.

Layout written under --out:
    <model>/<model>_<dtype>.onnx | _<dtype>.pt2 | _<dtype>_core.pt2 | _<dtype>.pt
    <model>/<model>_<dtype>_inputs.safetensors / _outputs.safetensors (names = graph names)
    manifest.json  (what was made, input/output names, what failed and why)
"""
import argparse
import json
import os
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)


class Mlp(nn.Module):
    """Linear -> LayerNorm -> GELU -> Linear: the smallest model with every basic layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.norm = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x):
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class SmallResNet(nn.Module):
    """ResNet-shaped: conv stem, BN, max pool, residual blocks, global pool, fc."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.stem(x))))
        x = self.layer2(self.layer1(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block using scaled_dot_product_attention."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, s, d))
        return x + self.mlp(self.norm2(x))


class HfWrapper(nn.Module):
    """Returns last_hidden_state only, so every exporter sees one tensor output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None):
        if attention_mask is None:
            return self.model(input_ids=input_ids)[0]
        return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]


def make_gpt2():
    from transformers import GPT2Config, GPT2Model

    config = GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=128, n_positions=32,
                        use_cache=False, attn_implementation="sdpa")
    ids = torch.randint(0, 128, (2, 8))
    return HfWrapper(GPT2Model(config)), (ids,), ["input_ids"]


def make_bert():
    from transformers import BertConfig, BertModel

    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                        vocab_size=128, max_position_embeddings=32, attn_implementation="sdpa")
    ids = torch.randint(0, 128, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.int64)
    mask[1, 6:] = 0
    return HfWrapper(BertModel(config, add_pooling_layer=False)), (ids, mask), ["input_ids", "attention_mask"]


def make_mobilenet():
    import torchvision

    model = torchvision.models.mobilenet_v3_small(width_mult=0.25, num_classes=10)
    return model, (torch.randn(2, 3, 64, 64),), ["x"]


def make_vit():
    from torchvision.models.vision_transformer import VisionTransformer

    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                              mlp_dim=64, num_classes=10)
    # torchvision zero-initializes the head, which would make every output 0 and every test pass.
    nn.init.normal_(model.heads.head.weight, std=0.2)
    nn.init.normal_(model.heads.head.bias, std=0.2)
    return model, (torch.randn(2, 3, 32, 32),), ["x"]


def make_llama():
    """Llama at a tiny size: RMSNorm, rotary embeddings (under no_grad/autocast wrappers in
    torch.export), grouped-query attention, SwiGLU, a causal mask and the LM head."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=64, vocab_size=128, max_position_embeddings=32, use_cache=False,
                         attn_implementation="sdpa")
    ids = torch.randint(0, 128, (2, 8))
    return HfWrapper(LlamaForCausalLM(config)), (ids,), ["input_ids"]


class T5Wrapper(nn.Module):
    """T5's encoder-decoder with decoder ids as a second input; the decoder's last hidden state."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, decoder_input_ids):
        return self.model(input_ids=input_ids, decoder_input_ids=decoder_input_ids)[0]


def make_t5():
    """T5 at a tiny size: relative position bias, gated-GELU feed-forward, cross-attention."""
    from transformers import T5Config, T5Model

    config = T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=128,
                      feed_forward_proj="gated-gelu", use_cache=False)
    return (T5Wrapper(T5Model(config)), (torch.randint(0, 128, (2, 8)), torch.randint(0, 128, (2, 6))),
            ["input_ids", "decoder_input_ids"])


def make_unet():
    """The diffusion U-Net block of bench/coverage_models.py at 16 channels: GroupNorm, SiLU,
    a sinusoidal timestep embedding, ConvTranspose2d, interpolation, skips, pixel attention."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
    import coverage_models

    model, (sample, timestep) = coverage_models.diffusion_unet_block(channels=16, size=16)
    return model, (sample, timestep), ["sample", "timestep"]


MODELS = {
    "mlp": lambda: (Mlp(), (torch.randn(4, 16),), ["x"]),
    "resnet": lambda: (SmallResNet(), (torch.randn(2, 3, 32, 32),), ["x"]),
    "encoder": lambda: (EncoderBlock(), (torch.randn(2, 8, 32),), ["x"]),
    "gpt2": make_gpt2,
    "bert": make_bert,
    "mobilenet": make_mobilenet,
    "vit": make_vit,
    "llama": make_llama,
    "t5": make_t5,
    "unet": make_unet,
}


def randomize_norm_stats(model):
    """Fresh BatchNorm running stats so folding and scaling bugs cannot hide behind 0/1."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)


def batch_dynamic_shapes(input_names):
    batch = torch.export.Dim("batch", min=1, max=64)
    return {name: {0: batch} for name in input_names}


def export_all(name, out_dir, log, manifest):
    model, inputs, input_names = MODELS[name]()
    randomize_norm_stats(model)
    model.eval()
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        typed = model.to(dtype)
        typed_inputs = tuple(t.to(dtype) if t.is_floating_point() else t for t in inputs)
        with torch.no_grad():
            reference = typed(*typed_inputs)
        # A constant output would let any wrong kernel pass; refuse to write such a fixture.
        assert reference.float().std() > 1e-3, f"{name} {dtype_name}: reference output is constant"
        stem = os.path.join(folder, f"{name}_{dtype_name}")
        save_file({n: t.contiguous() for n, t in zip(input_names, typed_inputs)}, stem + "_inputs.safetensors")
        save_file({"output_0": reference.contiguous()}, stem + "_outputs.safetensors")
        entry = {"model": name, "dtype": dtype_name, "inputs": input_names, "outputs": ["output_0"],
                 "made": [], "failed": {}}
        dynamic = batch_dynamic_shapes(input_names)

        def attempt(kind, fn):
            started = time.time()
            try:
                fn()
                entry["made"].append(kind)
                log(f"  {name} {dtype_name} {kind}: ok ({time.time() - started:.1f}s)")
            except Exception as error:  # record and go on: one exporter failing is a finding
                entry["failed"][kind] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
                log(f"  {name} {dtype_name} {kind}: FAILED {entry['failed'][kind]}")
                traceback.print_exc()

        def onnx_export():
            program = torch.onnx.export(typed, typed_inputs, dynamo=True, input_names=input_names,
                                        output_names=["output_0"], dynamic_shapes=dynamic, optimize=True)
            program.save(stem + ".onnx")

        def onnx23_export():
            program = torch.onnx.export(typed, typed_inputs, dynamo=True, input_names=input_names,
                                        output_names=["output_0"], opset_version=23, optimize=True)
            program.save(stem + "_opset23.onnx")

        def pt2_export():
            try:
                program = torch.export.export(typed, typed_inputs,
                                              dynamic_shapes=tuple(dynamic[n] for n in input_names))
            except Exception as error:  # e.g. HF GPT-2 in 2.11: a view that a dynamic batch breaks
                log(f"  {name} {dtype_name} pt2: dynamic batch failed ({type(error).__name__}); static")
                entry["static_pt2"] = True
                program = torch.export.export(typed, typed_inputs)
            torch.export.save(program, stem + ".pt2")
            try:
                core = program.run_decompositions()
            except Exception as error:  # HF GPT-2 in 2.11: a decomposed view breaks a dynamic batch
                log(f"  {name} {dtype_name} core pt2: dynamic batch failed ({type(error).__name__}); static")
                entry["static_core_pt2"] = True
                core = torch.export.export(typed, typed_inputs).run_decompositions()
            torch.export.save(core, stem + "_core.pt2")

        def torchscript_export():
            traced = torch.jit.trace(typed, typed_inputs, strict=False, check_trace=False)
            torch.jit.save(traced, stem + ".pt")

        attempt("onnx", onnx_export)
        if name in ("encoder", "bert", "gpt2"):
            attempt("onnx_opset23", onnx23_export)
        attempt("pt2", pt2_export)
        attempt("torchscript", torchscript_export)
        manifest.append(entry)


class DataDependentBranch(nn.Module):
    """Scripted forward whose branch depends on tensor values: Kiln must refuse it clearly."""

    def forward(self, x):
        if bool(x.sum() > 0):
            return x * 2.0
        return x


class Loop(nn.Module):
    """Scripted forward with a loop over a run-time count: Kiln must refuse it clearly."""

    def forward(self, x, n: int):
        for _ in range(n):
            x = x + 1.0
        return x


def scripted_fixtures(out_dir, log):
    """torch.jit.script archives: a straight-line MLP (fp32, bf16) and two control-flow cases."""
    folder = os.path.join(out_dir, "scripted")
    os.makedirs(folder, exist_ok=True)
    model = Mlp().eval()
    x = torch.randn(4, 16)
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        typed = model.to(dtype)
        typed_x = x.to(dtype)
        with torch.no_grad():
            reference = typed(typed_x)
        stem = os.path.join(folder, f"mlp_scripted_{dtype_name}")
        torch.jit.save(torch.jit.script(typed), stem + ".pt")
        save_file({"x": typed_x.contiguous()}, stem + "_inputs.safetensors")
        save_file({"output_0": reference.contiguous()}, stem + "_outputs.safetensors")
        log(f"  scripted mlp {dtype_name}: ok")
    torch.jit.save(torch.jit.script(DataDependentBranch()), os.path.join(folder, "branch.pt"))
    torch.jit.save(torch.jit.script(Loop()), os.path.join(folder, "loop.pt"))
    log("  scripted control flow: ok")


def op_coverage(log):
    """Op types emitted for full-size models (random weights) by each exporter."""
    import torchvision
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    coverage = {}
    full = {
        "resnet50": lambda: (torchvision.models.resnet50(), (torch.randn(1, 3, 224, 224),), ["x"]),
        "mobilenet_v3_large": lambda: (torchvision.models.mobilenet_v3_large(), (torch.randn(1, 3, 224, 224),), ["x"]),
        "vit_b_16": lambda: (torchvision.models.vit_b_16(), (torch.randn(1, 3, 224, 224),), ["x"]),
        "bert_base": lambda: (HfWrapper(BertModel(BertConfig(attn_implementation="sdpa"), add_pooling_layer=False)),
                              (torch.randint(0, 1000, (1, 128)), torch.ones(1, 128, dtype=torch.int64)),
                              ["input_ids", "attention_mask"]),
        "gpt2": lambda: (HfWrapper(GPT2Model(GPT2Config(use_cache=False, attn_implementation="sdpa"))),
                         (torch.randint(0, 1000, (1, 128)),), ["input_ids"]),
    }
    for name, make in full.items():
        started = time.time()
        record = {}
        try:
            model, inputs, input_names = make()
            model.eval()
            program = torch.onnx.export(model, inputs, dynamo=True, input_names=input_names, optimize=True)
            proto = program.model_proto
            record["onnx_opset"] = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
            record["onnx_ops"] = sorted({(n.domain or "") + ":" + n.op_type if n.domain else n.op_type
                                         for n in proto.graph.node})
            exported = torch.export.export(model, inputs)
            record["aten_training"] = sorted({str(n.target) for n in exported.graph.nodes if n.op == "call_function"})
            core = exported.run_decompositions()
            record["aten_core"] = sorted({str(n.target) for n in core.graph.nodes if n.op == "call_function"})
        except Exception as error:
            record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            traceback.print_exc()
        coverage[name] = record
        log(f"  coverage {name}: {time.time() - started:.1f}s {record.get('error', 'ok')}")
    return coverage


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", nargs="*", default=list(MODELS))
    parser.add_argument("--coverage", action="store_true", help="also record op coverage of full-size models")
    parser.add_argument("--scripted", action="store_true", help="only write the torch.jit.script fixtures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    def log(message):
        print(message, flush=True)

    log(f"torch {torch.__version__}")
    if args.scripted:
        scripted_fixtures(args.out, log)
        return 0
    manifest = []
    for name in args.only:
        log(f"{name}:")
        try:
            export_all(name, args.out, log, manifest)
        except Exception:
            traceback.print_exc()
            manifest.append({"model": name, "error": traceback.format_exc().splitlines()[-1]})
    # Models not made this time keep their entries (--only remakes a few).
    path = os.path.join(args.out, "manifest.json")
    if os.path.exists(path):
        with open(path) as f:
            kept = [e for e in json.load(f)["fixtures"] if e["model"] not in args.only]
        manifest = kept + manifest
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "fixtures": manifest}, f, indent=1)
    if args.coverage:
        with open(os.path.join(args.out, "op_coverage.json"), "w") as f:
            json.dump(op_coverage(log), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
