"""Writes small torch.export archives with torch.cond, and PyTorch's own inputs and outputs, for
tests/frontends/pt2/pt2_cond_test.cpp: a predicate that is a constant buffer (True and False)
and one computed from the input (x.sum() > 0), each branch a few ATen ops over one Linear.
Run with any torch >= 2.5: python tests/models/cond/make_cond_fixtures.py"""
import pathlib

import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent


class FlagCond(torch.nn.Module):
    def __init__(self, flag):
        super().__init__()
        self.register_buffer("flag", torch.tensor(flag))
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x):
        def true_branch(x):
            return self.lin(x).relu()

        def false_branch(x):
            return x * 2.0 - 1.0

        return torch.cond(self.flag, true_branch, false_branch, (x,))


class DataCond(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x):
        def true_branch(x):
            return self.lin(x).sigmoid()

        def false_branch(x):
            return torch.tanh(x) + 0.5

        return torch.cond(x.sum() > 0, true_branch, false_branch, (x,))


def main():
    torch.manual_seed(0)
    example = torch.randn(2, 4)
    for name, module in (("cond_flag_true", FlagCond(True)), ("cond_flag_false", FlagCond(False)),
                         ("cond_data", DataCond())):
        module = module.eval()
        program = torch.export.export(module, (example,))
        torch.export.save(program, HERE / f"{name}.pt2")
        cases = {"positive": example.abs() + 0.1, "negative": -example.abs() - 0.1}
        tensors = {}
        with torch.no_grad():
            for case, x in cases.items():
                tensors[f"{case}_x"] = x.contiguous()
                tensors[f"{case}_y"] = module(x).contiguous()
        save_file(tensors, HERE / f"{name}_io.safetensors")


if __name__ == "__main__":
    main()
