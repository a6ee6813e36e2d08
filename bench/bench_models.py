#!/usr/bin/env python3
"""Side-by-side benchmark of Kiln against PyTorch on full-size models with random weights:
ResNet-50, ViT-B/16, ConvNeXt-Tiny, EfficientNet-B0 and MobileNetV3-Large (torchvision),
BERT-base and GPT-2 124M (Hugging Face), each at fixed batches.

Per model and batch it exports the FP32 model with torch.export (static shapes), times PyTorch
eager FP32 (TF32 off), eager BF16 and optionally torch.compile BF16 with CUDA events, saves
FP32 reference outputs, then builds, runs and benches Kiln engines through the `kiln` CLI.
Results go to OUT/results.json and OUT/results.md; the big files (.pt2, engines, .npy) go to
--work, which later runs reuse with --reuse.

Run on the GPU machine after `bash scripts/device_build.sh` (the caller exports the library path):
    export LD_LIBRARY_PATH=/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    /opt/torch/.venv/bin/python bench/bench_models.py --kiln build-device/kiln \
        --models resnet50 --batches 1,32 --out $OUT/bench
Self-test of the parts that need no torch or GPU (any Python with numpy, e.g. .venv/bin/python):
    python3 bench/bench_models.py --self-test
The report, plot and merge (results.md, error_vs_latency.png, --merge, --plot-only) live in
bench_report.py, which needs no torch.
"""
import argparse
import copy
import datetime
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_report.py lies beside this file
import bench_report  # noqa: E402
from bench_report import (COMPILE_BF16, EAGER_BF16, EAGER_FP32, error_status, latency_summary,  # noqa: E402
                          markdown_report, normalized_error, worst_error, write_results)

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
MODELS = ("resnet50", "bert", "gpt2", "vit", "convnext_tiny", "efficientnet_b0",
          "mobilenet_v3_large", "llama")
IMAGE_MODELS = ("resnet50", "vit", "convnext_tiny", "efficientnet_b0", "mobilenet_v3_large")
STARTED = time.time()


def progress(message):
    print(f"[{time.time() - STARTED:7.1f}s] {message}", flush=True)


# ---------------------------------------------------------------- arguments (self-tested)

def parse_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_kiln_configs(text):
    """'fp32;fp32,bf16;strong:bf16;bf16-stored:fp32,bf16' -> [{label, precisions, strongly_typed,
    bf16_stored}]. 'strong:' builds the bf16-stored model with --strongly-typed (and --precision
    only when precisions follow); 'bf16-stored:' builds the bf16-stored model with the precisions.
    A leading 'nhwc:' or 'nchw:' builds with that --conv-layout (Kiln's default is nhwc:
    channels-last convolutions as cuDNN graphs; nchw: cuDNN's legacy API)."""
    configs = []
    for label in (part.strip() for part in text.split(";")):
        if not label:
            continue
        layout = label[:4] if label.startswith(("nhwc:", "nchw:")) else None
        item = label[len("nhwc:"):] if layout else label
        strong = item.startswith("strong:")
        stored = item.startswith("bf16-stored:")
        rest = item[len("strong:"):] if strong else item[len("bf16-stored:"):] if stored else item
        precisions = parse_list(rest)
        unknown = [p for p in precisions if p not in PRECISIONS]
        if unknown or not (precisions or strong):
            raise ValueError(f"kiln config '{item}': precisions must be a comma list of {PRECISIONS}")
        configs.append({"label": label, "precisions": ",".join(precisions), "strongly_typed": strong,
                        "bf16_stored": strong or stored, "layout": layout})
    return configs


def slug(label):
    return (label.replace("nhwc:", "nhwc-").replace("nchw:", "nchw-").replace("strong:", "strong-").replace("bf16-stored:", "bf16stored-")
            .replace(",", "+").rstrip("-"))


# ---------------------------------------------------------------- PyTorch side

def calibrate_batch_norm(model):
    """BatchNorm stats measured on random images, as training would leave them: with the default
    0/1 stats random ResNet-50 activations grow block by block (an fp16 overflow that says nothing
    about Kiln), and folding bugs could hide behind them."""
    import torch
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(16, 3, 224, 224))


def build_model(name):
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    if name == "resnet50":
        import torchvision
        model = torchvision.models.resnet50(weights=None)
        calibrate_batch_norm(model)
        # A random ResNet-50 with calibrated BatchNorm is chaotic: its residual branches are as
        # large as the skip path, so rounding anywhere grows ~50x over 16 blocks (PyTorch's own
        # bf16 run is 13% off its fp32 run). Trained ResNets have small residual branches;
        # scaling each block's last BatchNorm by 0.2 gives the random model that property.
        with torch.no_grad():
            for block in model.modules():
                if isinstance(block, torchvision.models.resnet.Bottleneck):
                    block.bn3.weight.mul_(0.2)
                    block.bn3.bias.mul_(0.2)
        return model.eval()
    if name in ("convnext_tiny", "efficientnet_b0", "mobilenet_v3_large"):
        import torchvision
        model = getattr(torchvision.models, name)(weights=None)
        calibrate_batch_norm(model)  # EfficientNet and MobileNet have BatchNorm; ConvNeXt none
        return model.eval()
    if name == "vit":
        import torchvision
        model = torchvision.models.vit_b_16(weights=None)
        # torchvision zero-initializes the head: every output would be 0 and every error 0/0.
        nn.init.normal_(model.heads.head.weight, std=0.02)
        nn.init.normal_(model.heads.head.bias, std=0.02)
        return model.eval()
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    class HfWrapper(nn.Module):
        """Returns the first output only (BERT last_hidden_state, GPT-2 logits)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask=None):
            if attention_mask is None:
                return self.model(input_ids=input_ids)[0]
            return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    if name == "bert":
        config = BertConfig(attn_implementation="sdpa", torchscript=True)
        return HfWrapper(BertModel(config, add_pooling_layer=False)).eval()
    if name == "llama":
        # A decoder LLM of about 1.1B parameters in the Llama architecture (TinyLlama's shape:
        # 22 layers, width 2048, grouped-query attention with 4 key/value heads, SwiGLU 5632,
        # RMSNorm, rotary embeddings), random weights, run on 2048-token prompts.
        config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632,
                             num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                             max_position_embeddings=2048, use_cache=False,
                             attn_implementation="sdpa", torchscript=True)
        return HfWrapper(LlamaForCausalLM(config)).eval()
    config = GPT2Config(use_cache=False, attn_implementation="sdpa", torchscript=True)
    return HfWrapper(GPT2LMHeadModel(config)).eval()


def make_inputs(name, batch):
    import torch
    generator = torch.Generator().manual_seed(1000 + batch)
    if name in IMAGE_MODELS:
        return (torch.randn(batch, 3, 224, 224, generator=generator),)
    if name == "bert":
        return (torch.randint(0, 30522, (batch, 128), generator=generator),
                torch.ones(batch, 128, dtype=torch.int64))
    if name == "llama":
        return (torch.randint(0, 32000, (batch, 2048), generator=generator),)
    return (torch.randint(0, 50257, (batch, 512), generator=generator),)


def cast_inputs(inputs, dtype, device):
    return tuple((t.to(dtype) if t.is_floating_point() else t).to(device) for t in inputs)


def output_tensors(output):
    if isinstance(output, (tuple, list)):
        return [t for item in output for t in output_tensors(item)]
    return [output]


def export_model(model, inputs, path):
    """Exports (static shapes) and saves; returns the user input names from the signature."""
    import torch
    program = torch.export.export(model, inputs)
    torch.export.save(program, path)
    return [name for name in program.graph_signature.user_inputs if isinstance(name, str)]


def time_forward(forward, inputs, warmup, iterations):
    import torch
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            forward(*inputs)
        torch.cuda.synchronize()
        for _ in range(iterations):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            forward(*inputs)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return latency_summary(times)


def copy_bandwidth(mebibytes=1024, iterations=20):
    """The GPU's device-to-device copy rate in GB/s (bytes read plus written over the median
    time of one tensor copy): the ceiling memory-bound kernels are measured against."""
    import torch
    source = torch.empty(mebibytes << 20, dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    summary = time_forward(lambda: target.copy_(source), [], 3, iterations)
    return 2 * source.numel() / (summary["median_ms"] * 1e6)


def disable_tf32():
    """FP32 means IEEE FP32 for the reference and the eager FP32 timing; returns what was set."""
    import torch
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        setting = "torch.backends.cuda.matmul.allow_tf32=False, torch.backends.cudnn.allow_tf32=False"
    except (AttributeError, RuntimeError):  # a PyTorch with only the fp32_precision API
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        setting = "torch.backends.{cuda.matmul,cudnn.conv}.fp32_precision='ieee'"
    return f"{setting}; float32_matmul_precision={torch.get_float32_matmul_precision()}"


def first_line(error):
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:200] if text else ''}"


def measure_variant(model, inputs, variant, args, references):
    """Times one PyTorch variant on the GPU; its copies of model and inputs die on return."""
    import torch
    dtype = torch.float32 if variant == EAGER_FP32 else torch.bfloat16
    forward = copy.deepcopy(model).to("cuda", dtype)
    gpu_inputs = cast_inputs(inputs, dtype, "cuda")
    measured = {}
    if variant == COMPILE_BF16:
        torch._dynamo.reset()
        forward = torch.compile(forward, mode="reduce-overhead")
        started = time.time()
        with torch.inference_mode():
            forward(*gpu_inputs)
        torch.cuda.synchronize()
        measured["compile_s"] = time.time() - started
    if references is not None and variant != EAGER_FP32:
        with torch.inference_mode():
            outputs = [t.float().cpu().numpy() for t in output_tensors(forward(*gpu_inputs))]
        measured["error"] = worst_error([normalized_error(o, r) for o, r in zip(outputs, references)])
        measured["error_status"] = error_status(measured["error"], args.max_error)
    measured.update(time_forward(forward, gpu_inputs, args.warmup, args.iterations))
    return measured


def torch_variant(model, inputs, variant, args, references):
    import torch
    precisions = "fp32 (TF32 off)" if variant == EAGER_FP32 else "bf16"
    row = {"kind": "torch", "variant": variant, "precisions": precisions}
    if references is None and variant != EAGER_FP32:
        row["error_note"] = "not checked"
    try:
        row.update(measure_variant(model, inputs, variant, args, references))
    except Exception as error:  # noqa: BLE001 -- a failed variant is reported; the run goes on
        row["note"] = f"skipped: {first_line(error)}"
        progress(f"  {variant} {row['note']}")
    if variant == COMPILE_BF16:
        torch._dynamo.reset()  # drops the compiled graphs and their CUDA graph memory pools
    torch.cuda.empty_cache()
    return row


def reference_outputs(model, inputs, stem):
    """FP32 eager outputs on the GPU (TF32 off), saved as STEM_out{i}.npy; returns them."""
    import torch
    gpu_model = copy.deepcopy(model).to("cuda")
    with torch.inference_mode():
        output = gpu_model(*cast_inputs(inputs, torch.float32, "cuda"))
        outputs = [t.float().cpu().numpy() for t in output_tensors(output)]
    for index, array in enumerate(outputs):
        np.save(f"{stem}_out{index}.npy", array)
    del gpu_model, output
    torch.cuda.empty_cache()
    return outputs


# ---------------------------------------------------------------- Kiln side

def run_command(command, timeout, show=False):
    """Runs a kiln command; returns (completed process or None, last stderr line on failure)."""
    progress("$ " + shlex.join(command))
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    except OSError as error:
        return None, str(error)
    if show or process.returncode != 0:
        for line in (process.stdout + process.stderr).splitlines()[-40:]:
            print("    " + line, flush=True)
    if process.returncode != 0:
        lines = [line for line in process.stderr.splitlines() if line.strip()]
        return process, lines[-1] if lines else f"exit status {process.returncode}"
    return process, None


def kiln_info(kiln):
    def text(*arguments):
        try:
            done = subprocess.run([kiln, *arguments], capture_output=True, text=True, timeout=60)
            return (done.stdout + done.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    version = text("--version")
    return {"version": version if version.startswith("kiln") else None,
            "timing_cache": "--timing-cache" in text("build", "--help"),
            "cuda_graph": "--cuda-graph" in text("bench", "--help")}


def kiln_row(config, case, args, info, references):
    row = {"kind": "kiln", "variant": f"kiln {config['label']}", "precisions": config["label"]}
    model_path = case.get("pt2_bf16") if config["bf16_stored"] else case["pt2"]
    if not model_path:
        row["note"] = f"no bf16-stored export: {case.get('bf16_export_error', 'not made')}"
        return row
    engine = f"{case['stem']}_{slug(config['label'])}.kiln"
    build = [args.kiln, "build", model_path, "-o", engine]
    build += ["--precision", config["precisions"]] if config["precisions"] else []
    build += ["--strongly-typed"] if config["strongly_typed"] else []
    build += ["--conv-layout", config["layout"]] if config.get("layout") else []
    if info["timing_cache"]:
        build += ["--timing-cache", os.path.join(args.work, "timing_cache.json")]
    started = time.time()
    _, failure = run_command(build, args.kiln_timeout, show=True)
    row["build_s"] = time.time() - started
    if failure:
        row["note"] = f"build failed: {failure}"
        return row
    if references is not None:
        check_outputs(row, engine, case, args, references)
    else:
        row["error_note"] = "not checked"
    bench = [args.kiln, "bench", engine, "--json", "--warmup", str(args.warmup),
             "--iterations", str(args.iterations)]
    bench += ["--cuda-graph"] if args.cuda_graph and info["cuda_graph"] else []
    process, failure = run_command(bench, args.kiln_timeout)
    if failure:
        row["note"] = (row.get("note", "") + f" bench failed: {failure}").strip()
        return row
    try:
        report = json.loads(process.stdout)
    except ValueError:
        row["note"] = "bench printed no JSON: " + process.stdout.strip()[-160:]
        return row
    latency = report.get("latency_ms", {})
    row.update({"median_ms": latency.get("median"), "p90_ms": latency.get("p90"),
                "min_ms": latency.get("min"),
                "samples_per_second": report.get("throughput", {}).get("samples_per_second"),
                "timing": report.get("timing"), "layers": report.get("layers") or [],
                "host_nodes": report.get("host_nodes") or [], "engine_precisions": report.get("precisions")})
    return row


def check_outputs(row, engine, case, args, references):
    output_dir = f"{case['stem']}_{slug(row['precisions'])}_out"
    command = [args.kiln, "run", engine, "--json", "--output-dir", output_dir]
    for name in case["input_names"]:
        command += ["--input", f"{name}={case['stem']}_in_{name}.npy"]
    process, failure = run_command(command, args.kiln_timeout)
    if failure:
        row["note"] = f"run failed: {failure}"
        return
    try:
        files = [output.get("file") for output in json.loads(process.stdout).get("outputs", [])]
        if len(files) != len(references):
            raise ValueError(f"{len(files)} outputs, the reference has {len(references)}")
        errors = [normalized_error(np.load(f, mmap_mode="r"), r) for f, r in zip(files, references)]
    except (ValueError, OSError, TypeError) as error:
        row.update({"error": float("nan"), "error_status": "FAIL", "note": f"check failed: {error}"})
        return
    row["output_errors"] = errors
    row["error"] = worst_error(errors)
    row["error_status"] = error_status(row["error"], args.max_error)


# ---------------------------------------------------------------- driver

def reusable(case, args):
    needed = [case["sidecar"], case["pt2"]] + ([case["pt2_bf16"]] if args.bf16_stored else [])
    return args.reuse and all(os.path.exists(path) for path in needed)


def prepare_case(name, model, batch, args):
    """Exports (or reuses) the .pt2 files and saves the inputs for one model and batch."""
    import torch
    stem = os.path.join(args.work, f"{name}_b{batch}")
    case = {"stem": stem, "pt2": stem + ".pt2", "pt2_bf16": stem + "_bf16.pt2", "sidecar": stem + ".json"}
    inputs = make_inputs(name, batch)
    if reusable(case, args):
        progress(f"{name} b{batch}: reusing {case['pt2']}")
        with open(case["sidecar"]) as file:
            case.update(json.load(file))
        return case, inputs
    progress(f"{name} b{batch}: torch.export fp32")
    started = time.time()
    case["input_names"] = export_model(model, inputs, case["pt2"])
    case["export_s"] = time.time() - started
    case["pt2_bf16"] = None
    if args.bf16_stored:
        progress(f"{name} b{batch}: torch.export bf16-stored")
        bf16_path = stem + "_bf16.pt2"
        try:
            export_model(copy.deepcopy(model).to(torch.bfloat16), cast_inputs(inputs, torch.bfloat16, "cpu"),
                         bf16_path)
            case["pt2_bf16"] = bf16_path
        except Exception as error:  # noqa: BLE001 -- only the strong: configs need it
            case["bf16_export_error"] = first_line(error)
            progress(f"  bf16 export failed: {case['bf16_export_error']}")
    for input_name, tensor in zip(case["input_names"], inputs):
        np.save(f"{stem}_in_{input_name}.npy", tensor.numpy())
    with open(case["sidecar"], "w") as file:
        json.dump({key: case[key] for key in ("input_names", "export_s", "pt2_bf16")}, file)
    return case, inputs


def run_case(name, model, batch, args, info, results):
    rows = []
    try:
        case, inputs = prepare_case(name, model, batch, args)
    except Exception as error:  # noqa: BLE001 -- PyTorch rows are still measured
        progress(f"{name} b{batch}: export failed: {first_line(error)}")
        case, inputs = None, make_inputs(name, batch)
        rows.append({"kind": "export", "variant": "torch.export", "note": f"export failed: {first_line(error)}"})
    references = None
    if batch in args.check_batches:
        progress(f"{name} b{batch}: FP32 reference outputs")
        try:
            references = reference_outputs(model, inputs, os.path.join(args.work, f"{name}_b{batch}"))
        except Exception as error:  # noqa: BLE001
            progress(f"  reference failed, nothing is checked: {first_line(error)}")
    for variant in [EAGER_FP32, EAGER_BF16] + ([COMPILE_BF16] if args.compile else []):
        progress(f"{name} b{batch}: PyTorch {variant}")
        rows.append(torch_variant(model, inputs, variant, args, references))
    for config in args.configs if case else []:
        progress(f"{name} b{batch}: kiln {config['label']}")
        rows.append(kiln_row(config, case, args, info, references))
    for row in rows:
        row.update({"model": name, "batch": batch})
        results["rows"].append(row)
    results["cases"][f"{name}_b{batch}"] = {k: v for k, v in (case or {}).items() if k != "stem"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot-only", metavar="RESULTS_JSON",
                        help="only draw error_vs_latency.png beside an existing results.json")
    parser.add_argument("--merge", nargs="+", metavar="RESULTS_JSON",
                        help="only merge results.json files of runs split across device calls (one "
                             "model each, say) into --out: one table, one plot, every command kept")
    parser.add_argument("--kiln", default="build-device/kiln")
    parser.add_argument("--models", default="resnet50,bert,gpt2", help=f"comma list of {MODELS}")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--check-batches", default="1",
                        help="batches whose outputs are checked (GPT-2 b32 logits are 3.3 GB)")
    parser.add_argument("--kiln-configs", default="fp32,bf16",
                        help="';'-separated precision lists; 'strong:' = --strongly-typed on the bf16-stored model")
    parser.add_argument("--bf16-stored", action="store_true",
                        help="also export model.to(bfloat16) (implied by strong: configs)")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile(mode='reduce-overhead') BF16")
    parser.add_argument("--cuda-graph", action="store_true", help="pass --cuda-graph to kiln bench")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--max-error", type=float, default=0.05,
                        help="normalized errors above this are marked FAIL")
    parser.add_argument("--kiln-timeout", type=int, default=600, help="seconds per kiln command")
    parser.add_argument("--out", default="bench/results/latest", help="results.json and results.md")
    parser.add_argument("--work", default="/tmp/kiln-bench", help=".pt2 files, engines, inputs, outputs")
    parser.add_argument("--reuse", action="store_true", help="reuse exports already in --work")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    args.models = parse_list(args.models)
    bad = [m for m in args.models if m not in MODELS]
    if bad:
        parser.error(f"unknown models {bad}; choose from {MODELS}")
    args.batches = [int(b) for b in parse_list(args.batches)]
    args.check_batches = [int(b) for b in parse_list(args.check_batches)]
    try:
        args.configs = parse_kiln_configs(args.kiln_configs)
    except ValueError as error:
        parser.error(str(error))
    args.bf16_stored = args.bf16_stored or any(c["bf16_stored"] for c in args.configs)
    return args


def main(argv):
    args = parse_args(argv)
    if args.self_test:
        return self_test()
    if args.merge:
        return bench_report.merge_files(args.merge, args.out)
    if args.plot_only:
        return bench_report.plot_only(args.plot_only)
    import torch
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    info = kiln_info(args.kiln)
    if not info["version"]:
        progress(f"warning: '{args.kiln} --version' gave nothing; kiln rows will likely fail")
    if args.cuda_graph and not info["cuda_graph"]:
        progress("warning: this kiln bench has no --cuda-graph; benching without it")
    results = {"meta": {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                        "kiln_version": info["version"], "kiln_features": info, "tf32": disable_tf32(),
                        "copy_gb_per_s": copy_bandwidth(),
                        "command": shlex.join([sys.executable] + sys.argv),
                        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                        "args": {k: v for k, v in vars(args).items() if k != "self_test"}},
               "rows": [], "cases": {}}
    for name in args.models:
        progress(f"{name}: building the model (random weights, seed 0)")
        model = build_model(name)
        for batch in args.batches:
            run_case(name, model, batch, args, info, results)
            timings = [r.get("timing") for r in results["rows"] if r.get("timing")]
            results["meta"]["kiln_timing"] = timings[0] if timings else None
            write_results(results, args.out)  # after every case, so a killed run keeps what it measured
        del model
    print(markdown_report(results), flush=True)
    return 0


def self_test():
    """The argument parsing here, then bench_report's own self-test (errors, report, plot, merge)."""
    assert parse_kiln_configs("fp32;tf32;fp32,fp16;strong:bf16;strong:") == [
        {"label": "fp32", "precisions": "fp32", "strongly_typed": False, "bf16_stored": False, "layout": None},
        {"label": "tf32", "precisions": "tf32", "strongly_typed": False, "bf16_stored": False, "layout": None},
        {"label": "fp32,fp16", "precisions": "fp32,fp16", "strongly_typed": False, "bf16_stored": False, "layout": None},
        {"label": "strong:bf16", "precisions": "bf16", "strongly_typed": True, "bf16_stored": True, "layout": None},
        {"label": "strong:", "precisions": "", "strongly_typed": True, "bf16_stored": True, "layout": None}]
    assert parse_kiln_configs("bf16-stored:fp32,bf16")[0]["bf16_stored"]
    nhwc = parse_kiln_configs("nhwc:fp32,bf16")[0]
    assert nhwc["layout"] == "nhwc" and nhwc["precisions"] == "fp32,bf16" and slug(nhwc["label"]) == "nhwc-fp32+bf16"
    nchw = parse_kiln_configs("nchw:fp32,bf16")[0]
    assert nchw["layout"] == "nchw" and slug(nchw["label"]) == "nchw-fp32+bf16"
    for bad in ("fp8", "fp32,int8", ","):
        try:
            parse_kiln_configs(bad)
            raise AssertionError(f"'{bad}' parsed")
        except ValueError:
            pass
    assert slug("bf16-stored:fp32,bf16") == "bf16stored-fp32+bf16"
    assert slug("strong:fp32,bf16") == "strong-fp32+bf16" and slug("strong:") == "strong"
    return bench_report.self_test()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
