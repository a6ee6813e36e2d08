#!/usr/bin/env python3
"""Model coverage: which model families Kiln imports and runs correctly, against PyTorch.

Each model (torchvision classifiers and segmenters at their real sizes, Hugging Face
architectures at small random configurations: the op set is what matters, not the size) is
exported with torch.export, run by PyTorch in FP32, then run by `kiln run` from the .pt2 and
from an engine `kiln build` made of it, each compared by normalized error ||out-ref||/||ref||.
A model whose output barely depends on its input (random weights can do that) is flagged:
its error proves little.

    python bench/coverage.py --kiln build/kiln --backend cpu --out bench/results/DATE-coverage
    python bench/coverage.py --kiln build/kiln --models resnet50,t5   # a few
Needs torch, torchvision, transformers, safetensors and numpy (on the GPU machine:
/opt/torch/.venv/bin/python). Writes OUT/coverage.json and OUT/coverage.md.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

TORCHVISION = ("resnet50", "resnext50_32x4d", "wide_resnet50_2", "regnet_y_400mf", "regnet_x_400mf",
               "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0",
               "efficientnet_v2_s", "mnasnet1_0", "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121",
               "googlenet", "inception_v3", "convnext_tiny", "vit_b_16", "swin_t", "maxvit_t")
SEGMENTATION = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
HUGGING_FACE = ("bert", "roberta", "distilbert", "albert", "deberta_v2", "llama", "mistral", "qwen2",
                "phi", "gpt_neox", "gemma", "t5", "bart", "clip_vision", "clip_text", "whisper_encoder",
                "wav2vec2", "swin_hf", "segformer", "vit_hf")
SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


def hugging_face(name):
    """A small random model of the family and its example inputs."""
    import torch
    import transformers as T
    ids = torch.randint(0, 1000, (2, 16))
    image = torch.randn(2, 3, 64, 64)
    decoder = dict(encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                   decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, d_model=64,
                   vocab_size=1000, use_cache=False)
    causal = dict(SMALL, vocab_size=1000, use_cache=False)
    make = {
        "bert": lambda: (T.BertModel(T.BertConfig(**SMALL, vocab_size=1000)), (ids,)),
        "roberta": lambda: (T.RobertaModel(T.RobertaConfig(**SMALL, vocab_size=1000)), (ids,)),
        "distilbert": lambda: (T.DistilBertModel(T.DistilBertConfig(
            dim=64, n_layers=2, n_heads=4, hidden_dim=128, vocab_size=1000)), (ids,)),
        "albert": lambda: (T.AlbertModel(T.AlbertConfig(**SMALL, embedding_size=32, vocab_size=1000)),
                           (ids,)),
        "deberta_v2": lambda: (T.DebertaV2Model(T.DebertaV2Config(**SMALL, vocab_size=1000)), (ids,)),
        "llama": lambda: (T.LlamaForCausalLM(T.LlamaConfig(**causal, num_key_value_heads=2)), (ids,)),
        "mistral": lambda: (T.MistralForCausalLM(T.MistralConfig(**causal, num_key_value_heads=2)),
                            (ids,)),
        "qwen2": lambda: (T.Qwen2ForCausalLM(T.Qwen2Config(**causal, num_key_value_heads=2)), (ids,)),
        "phi": lambda: (T.PhiForCausalLM(T.PhiConfig(**causal)), (ids,)),
        "gpt_neox": lambda: (T.GPTNeoXForCausalLM(T.GPTNeoXConfig(**causal)), (ids,)),
        "gemma": lambda: (T.GemmaForCausalLM(T.GemmaConfig(**causal, num_key_value_heads=2,
                                                            head_dim=16)), (ids,)),
        "t5": lambda: (T.T5Model(T.T5Config(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                                            vocab_size=1000, use_cache=False)),
                       (ids, None, torch.randint(0, 1000, (2, 8)))),
        "bart": lambda: (T.BartModel(T.BartConfig(**decoder)), (ids,)),
        "clip_vision": lambda: (T.CLIPVisionModel(T.CLIPVisionConfig(**SMALL, image_size=64,
                                                                     patch_size=16)), (image,)),
        "clip_text": lambda: (T.CLIPTextModel(T.CLIPTextConfig(**SMALL, vocab_size=1000)), (ids,)),
        "whisper_encoder": lambda: (T.WhisperModel(T.WhisperConfig(
            **decoder, num_mel_bins=80, max_source_positions=50, pad_token_id=0, bos_token_id=1,
            eos_token_id=2, decoder_start_token_id=1)).encoder, (torch.randn(2, 80, 100),)),
        "wav2vec2": lambda: (T.Wav2Vec2Model(T.Wav2Vec2Config(
            **SMALL, conv_dim=(32, 32), conv_stride=(5, 2), conv_kernel=(10, 3),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)), (torch.randn(2, 4000),)),
        "swin_hf": lambda: (T.SwinModel(T.SwinConfig(image_size=64, patch_size=4, embed_dim=32,
                                                     depths=[1, 1], num_heads=[2, 4], window_size=4)),
                            (image,)),
        "segformer": lambda: (T.SegformerModel(T.SegformerConfig(
            num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[32, 64],
            num_attention_heads=[1, 2], decoder_hidden_size=64)), (image,)),
        "vit_hf": lambda: (T.ViTModel(T.ViTConfig(**SMALL, image_size=64, patch_size=16)), (image,)),
    }
    return make[name]()


def torchvision_model(name):
    import torch
    import torchvision
    kwargs = {"weights": None}
    if name in SEGMENTATION:
        kwargs["weights_backbone"] = None
        builder = getattr(torchvision.models.segmentation, name)
    else:
        builder = getattr(torchvision.models, name)
    if name in ("inception_v3", "googlenet"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = builder(**kwargs)
    # BatchNorm statistics measured on random images, as training would leave them: with the
    # default 0/1 statistics many random classifiers answer nearly the same for every input.
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for module in batch_norms:
        module.reset_running_stats()
        module.momentum = None
    if batch_norms:
        size = 299 if name == "inception_v3" else 224
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(4, 3, size, size))
    model.eval()
    with torch.no_grad():  # zero-initialized heads (ViT) would make every output 0
        for parameter in model.parameters():
            if parameter.dim() >= 1 and not parameter.any():
                parameter.normal_(0, 0.02)
    size = 299 if name == "inception_v3" else 224
    return model, (torch.randn(1, 3, size, size),)


def first_tensor(output):
    import torch
    if torch.is_tensor(output):
        return output
    if isinstance(output, dict):
        return first_tensor(next(iter(output.values())))
    if hasattr(output, "to_tuple"):
        output = output.to_tuple()
    return first_tensor(output[0])


def export_case(name, work):
    """Exports `name`; returns (pt2 path, inputs path, reference output, input sensitivity)."""
    import torch
    from safetensors.numpy import save_file
    torch.manual_seed(0)
    model, args = hugging_face(name) if name in HUGGING_FACE else torchvision_model(name)

    class FirstOutput(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return first_tensor(self.inner(*inputs))

    wrapped = FirstOutput(model.eval()).eval()
    with torch.no_grad():
        reference = wrapped(*args).float().numpy()
        other = tuple(torch.randn_like(a) if a is not None and a.is_floating_point() else
                      (torch.randint_like(a, 0, 1000) if a is not None else None) for a in args)
        moved = wrapped(*other).float().numpy()
    program = torch.export.export(wrapped, args)
    pt2 = os.path.join(work, f"{name}.pt2")
    torch.export.save(program, pt2)
    names = [spec.arg.name for spec in program.graph_signature.input_specs
             if spec.kind.name == "USER_INPUT" and type(spec.arg).__name__ == "TensorArgument"]
    tensors = [a for a in args if a is not None]
    inputs = os.path.join(work, f"{name}_inputs.safetensors")
    save_file({n: t.numpy() for n, t in zip(names, tensors)}, inputs)
    sensitivity = float(np.linalg.norm(moved - reference) / max(np.linalg.norm(reference), 1e-30))
    return pt2, inputs, reference, sensitivity


def run_kiln(args, path, inputs, out_dir):
    from safetensors.numpy import load_file
    done = subprocess.run([args.kiln, "run", path, "-i", inputs, "--backend", args.backend, "-o", out_dir,
                           "--output-format", "safetensors"], capture_output=True, text=True,
                          timeout=args.timeout)
    if done.returncode:
        return None, done.stderr.strip().splitlines()[:3]
    return next(iter(load_file(os.path.join(out_dir, "outputs.safetensors")).values())), None


def check(args, name):
    row = {"model": name}
    try:
        pt2, inputs, reference, sensitivity = export_case(name, args.work)
    except Exception as error:  # a PyTorch export failure is the model's, not Kiln's
        row["status"] = f"export failed: {type(error).__name__}: {str(error)[:160]}"
        return row
    row["input_sensitivity"] = sensitivity
    for mode in ("from_pt2", "from_engine"):
        path = pt2
        if mode == "from_engine":
            path = os.path.join(args.work, f"{name}.kiln")
            build = subprocess.run([args.kiln, "build", pt2, "-o", path, "-p", "fp32", "--backend",
                                    args.backend, "--conv-layout", args.conv_layout],
                                   capture_output=True, text=True, timeout=args.timeout)
            if build.returncode:
                row[mode] = "build failed: " + " ".join(build.stderr.strip().splitlines()[:3])
                continue
        out, failure = run_kiln(args, path, inputs, os.path.join(args.work, f"{name}_{mode}"))
        if failure:
            row[mode] = "failed: " + " ".join(failure)
            continue
        error = float(np.linalg.norm(out - reference) / np.linalg.norm(reference))
        row[mode] = error if out.shape == reference.shape else f"shape {out.shape} != {reference.shape}"
    ok = all(isinstance(row.get(m), float) and row[m] <= args.max_error
             for m in ("from_pt2", "from_engine"))
    row["status"] = "ok" if ok else "fails"
    return row


def markdown(rows, args):
    lines = [f"Kiln against PyTorch FP32, `kiln run --backend {args.backend}`, fp32, engines built with "
             f"`--conv-layout {args.conv_layout}`; normalized error "
             f"(ok at most {args.max_error:g}). Sensitivity: how much the output moves for another "
             "input; under 1e-3 the error proves little.", "",
             "| model | status | from .pt2 | from engine | sensitivity |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row["model"], row["status"]]
        for key in ("from_pt2", "from_engine"):
            value = row.get(key, "")
            cells.append(f"{value:.2e}" if isinstance(value, float) else str(value).replace("|", "/"))
        sensitivity = row.get("input_sensitivity")
        cells.append(f"{sensitivity:.1e}" if sensitivity is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default="build/kiln")
    parser.add_argument("--backend", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--models", default=",".join(TORCHVISION + SEGMENTATION + HUGGING_FACE))
    parser.add_argument("--conv-layout", default="nchw", choices=("nchw", "nhwc"),
                        help="kiln build's convolution layout for the engines")
    parser.add_argument("--max-error", type=float, default=1e-4)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per kiln command")
    parser.add_argument("--work", default="/tmp/kiln-coverage")
    parser.add_argument("--out", default="bench/results/latest-coverage")
    args = parser.parse_args(argv)
    known = TORCHVISION + SEGMENTATION + HUGGING_FACE
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in known]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {known}")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in models:
        rows.append(check(args, name))
        print(json.dumps(rows[-1]), flush=True)
        with open(os.path.join(args.out, "coverage.json"), "w") as f:
            json.dump(rows, f, indent=1)
        with open(os.path.join(args.out, "coverage.md"), "w") as f:
            f.write(markdown(rows, args))
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
