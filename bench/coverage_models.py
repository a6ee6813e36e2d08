"""The models bench/coverage.py checks, with random weights and example inputs: torchvision
classifiers and segmenters at their real sizes, Hugging Face architectures at small
configurations (the op set is what matters, not the size), and diffusion U-Net blocks written
here (GroupNorm, SiLU, a time embedding, ConvTranspose2d, nearest and bilinear interpolation,
skip concatenation, attention over pixels), since no diffusion library is a dependency.

make(name, image_size) -> (torch.nn.Module in eval mode, tuple of example inputs; None for an argument
left at its default).
"""
TORCHVISION = ("resnet50", "resnext50_32x4d", "wide_resnet50_2", "regnet_y_400mf", "regnet_x_400mf",
               "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0",
               "efficientnet_v2_s", "mnasnet1_0", "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121",
               "googlenet", "inception_v3", "convnext_tiny", "vit_b_16", "swin_t", "maxvit_t")
SEGMENTATION = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
HUGGING_FACE = ("bert", "roberta", "distilbert", "albert", "deberta_v2", "llama", "mistral", "qwen2",
                "phi", "gpt_neox", "gemma", "t5", "bart", "clip_vision", "clip_text", "whisper_encoder",
                "wav2vec2", "swin_hf", "segformer", "vit_hf", "bloom", "falcon", "gptj", "codegen",
                "funnel", "beit", "levit", "speech_to_text", "wavlm", "sew", "persimmon",
                "nemotron", "groupvit", "mamba", "yolos", "swin2sr", "mobilevit", "fnet", "mixtral",
                "qwen2_moe", "qwen3_moe", "olmoe", "granitemoe", "qwen3", "gemma2", "gemma3", "opt",
                "gpt_bigcode", "starcoder2", "mobilebert", "dinov2", "electra", "mpnet", "roformer",
                "big_bird", "mpt", "olmo2", "cohere", "stablelm", "deit", "focalnet", "dpt",
                "siglip_vision")
VIDEO = ("r3d_18", "r2plus1d_18", "swin3d_t")
# timm architectures torchvision and transformers lack (pip install timm; skipped without it).
TIMM = ("nf_resnet26", "convnextv2_atto", "hiera_tiny_224", "twins_svt_small", "efficientformerv2_s0",
        "fastvit_t8", "repvit_m1", "mobilenetv4_conv_small", "eva02_tiny_patch14_224", "cait_xxs24_224",
        "xcit_nano_12_p16_224", "coatnet_0_rw_224", "pvt_v2_b0", "edgenext_xx_small", "poolformer_s12",
        "ghostnetv2_100", "hrnet_w18_small", "swinv2_tiny_window8_256", "efficientvit_b0",
        "tiny_vit_5m_224", "mambaout_femto", "sequencer2d_s")
RECURRENT = ("speech_rnn",)
# Written here: attention with rotary embeddings as Meta's Llama reference code writes them.
COMPLEX = ("meta_rope_attention",)
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
        "fnet": lambda: (T.FNetModel(T.FNetConfig(hidden_size=64, num_hidden_layers=2,
                                                  intermediate_size=128, vocab_size=1000)), (ids,)),
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
        # Mixture of experts: top-k routing, histc, grouped products over sorted rows.
        "mixtral": lambda: (T.MixtralForCausalLM(T.MixtralConfig(
            **causal, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2)), (ids,)),
        "qwen2_moe": lambda: (T.Qwen2MoeForCausalLM(T.Qwen2MoeConfig(
            **causal, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2,
            moe_intermediate_size=64, shared_expert_intermediate_size=128)), (ids,)),
        "qwen3_moe": lambda: (T.Qwen3MoeForCausalLM(T.Qwen3MoeConfig(
            **causal, num_key_value_heads=2, head_dim=16, num_experts=4, num_experts_per_tok=2,
            moe_intermediate_size=64)), (ids,)),
        "olmoe": lambda: (T.OlmoeForCausalLM(T.OlmoeConfig(
            **causal, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2)), (ids,)),
        "granitemoe": lambda: (T.GraniteMoeForCausalLM(T.GraniteMoeConfig(
            **causal, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2)), (ids,)),
        # Found in a sweep of more decoders and encoders (all imported already): QK-norm
        # (Qwen3), logit softcaps and sliding windows (Gemma 2 and 3), multi-query attention
        # (GPTBigCode), OPT's learned positions, MobileBERT's bottlenecks, DINOv2.
        "qwen3": lambda: (T.Qwen3ForCausalLM(T.Qwen3Config(**causal, num_key_value_heads=2,
                                                            head_dim=16)), (ids,)),
        "gemma2": lambda: (T.Gemma2ForCausalLM(T.Gemma2Config(**causal, num_key_value_heads=2,
                                                               head_dim=16)), (ids,)),
        "gemma3": lambda: (T.Gemma3ForCausalLM(T.Gemma3TextConfig(**causal, num_key_value_heads=2,
                                                                   head_dim=16)), (ids,)),
        "opt": lambda: (T.OPTForCausalLM(T.OPTConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=128,
            vocab_size=1000, word_embed_proj_dim=64, use_cache=False)), (ids,)),
        "gpt_bigcode": lambda: (T.GPTBigCodeForCausalLM(T.GPTBigCodeConfig(
            n_embd=64, n_layer=2, n_head=4, vocab_size=1000, use_cache=False)), (ids,)),
        "starcoder2": lambda: (T.Starcoder2ForCausalLM(T.Starcoder2Config(
            **causal, num_key_value_heads=2)), (ids,)),
        "mobilebert": lambda: (T.MobileBertModel(T.MobileBertConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            vocab_size=1000, embedding_size=32, intra_bottleneck_size=32, true_hidden_size=32)),
            (ids,)),
        "dinov2": lambda: (T.Dinov2Model(T.Dinov2Config(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=64,
            patch_size=16)), (image,)),
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
        # ALiBi (baddbmm), x.T, interleaved rotary (repeat_interleave, stack), pooling by
        # funnel, relative positions from meshgrid, LeViT's reshape_as, a GLU subsampler.
        "bloom": lambda: (T.BloomForCausalLM(T.BloomConfig(hidden_size=64, n_layer=2, n_head=4,
                                                           vocab_size=1000, use_cache=False)),
                          (ids,)),
        "falcon": lambda: (T.FalconForCausalLM(T.FalconConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=1000,
            use_cache=False)), (ids,)),
        "gptj": lambda: (T.GPTJForCausalLM(T.GPTJConfig(n_embd=64, n_layer=2, n_head=4, rotary_dim=8,
                                                        vocab_size=1000, use_cache=False)), (ids,)),
        "codegen": lambda: (T.CodeGenForCausalLM(T.CodeGenConfig(
            n_embd=64, n_layer=2, n_head=4, rotary_dim=8, vocab_size=1000, use_cache=False)), (ids,)),
        "funnel": lambda: (T.FunnelModel(T.FunnelConfig(block_sizes=[1, 1], d_model=64, n_head=4,
                                                        d_head=16, d_inner=128, vocab_size=1000)),
                           (ids,)),
        "beit": lambda: (T.BeitModel(T.BeitConfig(**SMALL, image_size=64, patch_size=16,
                                                  use_relative_position_bias=True)), (image,)),
        "levit": lambda: (T.LevitModel(T.LevitConfig(image_size=64)), (image,)),
        # Found later: Tile (WavLM's ONNX), 1-D pools (SEW), square (Persimmon, Nemotron),
        # scatter_ (GroupViT), tensor_split (Mamba), bicubic interpolation (YOLOS),
        # pixel_shuffle (Swin2SR), static float rounding (MobileViT's TorchScript).
        "wavlm": lambda: (T.WavLMModel(T.WavLMConfig(
            **SMALL, conv_dim=(32, 32), conv_stride=(5, 2), conv_kernel=(10, 3),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, num_buckets=32,
            max_bucket_distance=64)), (torch.randn(2, 4000),)),
        "sew": lambda: (T.SEWModel(T.SEWConfig(
            **SMALL, conv_dim=(32, 32), conv_stride=(5, 2), conv_kernel=(10, 3),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, squeeze_factor=2)),
            (torch.randn(2, 4000),)),
        "persimmon": lambda: (T.PersimmonForCausalLM(T.PersimmonConfig(**causal)), (ids,)),
        "nemotron": lambda: (T.NemotronForCausalLM(T.NemotronConfig(**causal, num_key_value_heads=2,
                                                                    head_dim=16)), (ids,)),
        "groupvit": lambda: (T.GroupViTVisionModel(T.GroupViTVisionConfig(
            hidden_size=64, intermediate_size=128, depths=[1, 1, 1], num_group_tokens=[8, 4, 0],
            num_output_groups=[8, 4, 4], num_attention_heads=4, image_size=64, patch_size=16)),
            (image,)),
        "mamba": lambda: (T.MambaForCausalLM(T.MambaConfig(hidden_size=64, num_hidden_layers=2,
                                                           vocab_size=1000, state_size=8,
                                                           use_cache=False)), (ids,)),
        "yolos": lambda: (T.YolosModel(T.YolosConfig(**SMALL, image_size=[64, 64], patch_size=16,
                                                     num_detection_tokens=5)), (image,)),
        "swin2sr": lambda: (T.Swin2SRModel(T.Swin2SRConfig(
            image_size=32, patch_size=1, embed_dim=16, depths=[1, 1], num_heads=[2, 2],
            window_size=4, upscale=2, upsampler="pixelshuffle")), (torch.randn(1, 3, 32, 32),)),
        "mobilevit": lambda: (T.MobileViTModel(T.MobileViTConfig(image_size=64)), (image,)),
        # Session 33's sweep of more families (all imported already): ELECTRA, MPNet's relative
        # buckets, RoFormer's sinusoidal rotary, BigBird (full attention at this length), MPT's
        # ALiBi, OLMo-2's QK-norm, Cohere's parallel block, StableLM, DeiT, FocalNet's focal
        # modulation, DPT's reassemble stages, SigLIP's vision tower.
        "electra": lambda: (T.ElectraModel(T.ElectraConfig(**SMALL, vocab_size=1000,
                                                           embedding_size=64)), (ids,)),
        "mpnet": lambda: (T.MPNetModel(T.MPNetConfig(**SMALL, vocab_size=1000)), (ids,)),
        "roformer": lambda: (T.RoFormerModel(T.RoFormerConfig(**SMALL, vocab_size=1000,
                                                              embedding_size=64)), (ids,)),
        "big_bird": lambda: (T.BigBirdModel(T.BigBirdConfig(**SMALL, vocab_size=1000,
                                                            attention_type="original_full")),
                             (ids,)),
        "mpt": lambda: (T.MptModel(T.MptConfig(d_model=64, n_heads=4, n_layers=2, vocab_size=1000,
                                               use_cache=False)), (ids,)),
        "olmo2": lambda: (T.Olmo2ForCausalLM(T.Olmo2Config(**causal, num_key_value_heads=2)), (ids,)),
        "cohere": lambda: (T.CohereForCausalLM(T.CohereConfig(**causal, num_key_value_heads=2)),
                           (ids,)),
        "stablelm": lambda: (T.StableLmForCausalLM(T.StableLmConfig(**causal, num_key_value_heads=2)),
                             (ids,)),
        "deit": lambda: (T.DeiTModel(T.DeiTConfig(**SMALL, image_size=64, patch_size=16)), (image,)),
        "focalnet": lambda: (T.FocalNetModel(T.FocalNetConfig(image_size=64, embed_dim=32,
                                                              depths=[1, 1], focal_levels=[2, 2])),
                             (image,)),
        "dpt": lambda: (T.DPTModel(T.DPTConfig(**SMALL, image_size=64, patch_size=16,
                                               backbone_out_indices=[0, 1],
                                               neck_hidden_sizes=[16, 32],
                                               reassemble_factors=[4, 2])), (image,)),
        "siglip_vision": lambda: (T.SiglipVisionModel(T.SiglipVisionConfig(
            **SMALL, image_size=64, patch_size=16)), (image,)),
        "speech_to_text": lambda: (T.Speech2TextModel(T.Speech2TextConfig(
            **decoder, input_feat_per_channel=80, max_source_positions=200, conv_channels=32)).encoder,
            (torch.randn(2, 40, 80),)),
    }
    return make[name]()


def calibrate_batch_norm(model, input_size):
    """BatchNorm statistics measured on random images, as training would leave them: with the
    default 0/1 statistics many random classifiers answer nearly the same for every input."""
    import torch
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for module in batch_norms:
        module.reset_running_stats()
        module.momentum = None
    if batch_norms:
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(4, *input_size))
    model.eval()


def randomize_zero_parameters(model):
    """Zero-initialized heads (ViT's, Hiera's) would make every output 0: random ones instead."""
    import torch
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 1 and not parameter.any():
                parameter.normal_(0, 0.02)


def torchvision_model(name, image_size=224):
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
    # ViT-B/16 and MaxViT take only their trained size.
    size = 224 if name in ("vit_b_16", "maxvit_t") else image_size
    calibrate_batch_norm(model, (3, max(size, 96), max(size, 96)))
    randomize_zero_parameters(model)
    return model, (torch.randn(1, 3, size, size),)


DIFFUSION = ("unet_block",)


def diffusion_unet_block(channels=32, size=32):
    """A two-level diffusion U-Net (as Stable Diffusion's UNet2DModel arranges its blocks, at a
    small size): timestep embedding, ResNet blocks with GroupNorm and SiLU, self-attention over
    pixels, a strided-conv downsample, ConvTranspose2d and interpolation upsamples, and skip
    concatenations."""
    import math
    import torch
    from torch import nn
    import torch.nn.functional as F

    class ResBlock(nn.Module):
        def __init__(self, cin, cout, tdim):
            super().__init__()
            self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
            self.time = nn.Linear(tdim, cout)
            self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x, t):
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.time(F.silu(t))[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return self.skip(x) + h

    class PixelAttention(nn.Module):
        def __init__(self, channels, heads=4):
            super().__init__()
            self.norm, self.heads = nn.GroupNorm(8, channels), heads
            self.qkv, self.out = nn.Linear(channels, 3 * channels), nn.Linear(channels, channels)

        def forward(self, x):
            n, c, h, w = x.shape
            tokens = self.norm(x).flatten(2).transpose(1, 2)  # [N, HW, C]
            q, k, v = self.qkv(tokens).chunk(3, dim=-1)
            split = lambda t: t.view(n, h * w, self.heads, c // self.heads).transpose(1, 2)
            y = F.scaled_dot_product_attention(split(q), split(k), split(v))
            y = self.out(y.transpose(1, 2).reshape(n, h * w, c))
            return x + y.transpose(1, 2).reshape(n, c, h, w)

    class UNet(nn.Module):
        def __init__(self, channels=32, tdim=64):
            super().__init__()
            self.tdim = tdim
            self.time_mlp = nn.Sequential(nn.Linear(tdim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
            self.stem = nn.Conv2d(4, channels, 3, padding=1)
            self.down1 = ResBlock(channels, channels, tdim)
            self.downsample = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
            self.down2 = ResBlock(channels, 2 * channels, tdim)
            self.mid = ResBlock(2 * channels, 2 * channels, tdim)
            self.attention = PixelAttention(2 * channels)
            self.up2 = ResBlock(4 * channels, 2 * channels, tdim)
            self.upsample = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
            self.up1 = ResBlock(2 * channels, channels, tdim)
            self.head = nn.Sequential(nn.GroupNorm(8, channels), nn.SiLU(),
                                      nn.Conv2d(channels, 4, 3, padding=1))

        def timestep_embedding(self, t):
            half = self.tdim // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
            angles = t.float()[:, None] * freqs[None, :]
            return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)

        def forward(self, sample, timestep):
            # Embedded in float32, then in the model's dtype, as diffusers does.
            t = self.time_mlp(self.timestep_embedding(timestep).to(sample.dtype))
            h1 = self.down1(self.stem(sample), t)
            h2 = self.down2(self.downsample(h1), t)
            m = self.attention(self.mid(h2, t))
            u = self.up2(torch.cat([m, h2], dim=1), t)
            # Two upsample paths summed: a learned ConvTranspose2d and a bilinear interpolation,
            # then a nearest one over the skip, so each op runs.
            up = self.upsample(u) + F.interpolate(u[:, : h1.shape[1]], scale_factor=2.0,
                                                   mode="bilinear", align_corners=False)
            skip = F.interpolate(F.avg_pool2d(h1, 2), scale_factor=2.0, mode="nearest")
            return self.head(self.up1(torch.cat([up, skip], dim=1), t))

    model = UNet(channels)
    with torch.no_grad():  # GroupNorm's default affine (1, 0) is fine; give the convs scale
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.mul_(2.0)
    return model.eval(), (torch.randn(2, 4, size, size), torch.tensor([10, 500]))


def video_model(name):
    """A torchvision video classifier (Conv3d, 3-D pooling, Swin3D's 3-D windows), random
    weights, on 8 frames of 64x64."""
    import torch
    import torchvision
    model = getattr(torchvision.models.video, name)(weights=None).eval()
    return model, (torch.randn(1, 3, 8, 64, 64),)


def speech_rnn():
    """A recurrent speech encoder (as DeepSpeech-style and CRNN models arrange them): a strided
    Conv1d over 80 mel bins, a 2-layer bidirectional batch-first LSTM, a GRU, a Linear head."""
    import torch

    class SpeechRnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(80, 32, 3, stride=2, padding=1)
            self.lstm = torch.nn.LSTM(32, 24, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = torch.nn.GRU(48, 16, batch_first=True)
            self.head = torch.nn.Linear(16, 29)

        def forward(self, mel):
            x = torch.relu(self.conv(mel)).transpose(1, 2)
            x, _ = self.lstm(x)
            x, _ = self.gru(x)
            return self.head(x).log_softmax(-1)

    return SpeechRnn().eval(), (torch.randn(2, 80, 40),)


def meta_rope_attention():
    """Self-attention with rotary embeddings as Meta's Llama reference code applies them: a
    complex64 table from torch.polar kept as a buffer, view_as_complex of the query and key
    pairs, a complex product, view_as_real and flatten."""
    import torch

    class MetaRopeAttention(torch.nn.Module):
        def __init__(self, dim=64, heads=4, length=16):
            super().__init__()
            self.heads, self.head_dim = heads, dim // heads
            self.qkv = torch.nn.Linear(dim, 3 * dim, bias=False)
            self.out = torch.nn.Linear(dim, dim, bias=False)
            freqs = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
            angles = torch.outer(torch.arange(length).float(), freqs)
            self.register_buffer("freqs_cis", torch.polar(torch.ones_like(angles), angles))

        def rotate(self, x):
            pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
            table = self.freqs_cis[: x.shape[1]].view(1, x.shape[1], 1, -1)
            return torch.view_as_real(pairs * table).flatten(3).type_as(x)

        def forward(self, x):
            b, s, _ = x.shape
            q, k, v = self.qkv(x).view(b, s, 3, self.heads, self.head_dim).unbind(2)
            q, k = self.rotate(q), self.rotate(k)
            y = torch.nn.functional.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
            return self.out(y.transpose(1, 2).reshape(b, s, -1))

    return MetaRopeAttention().eval(), (torch.randn(2, 16, 64),)


def timm_model(name):
    """A timm model at its own input size, calibrated and randomized as torchvision's."""
    import timm
    import torch
    model = timm.create_model(name, pretrained=False)
    size = model.pretrained_cfg.get("input_size", (3, 224, 224))
    calibrate_batch_norm(model, size)
    randomize_zero_parameters(model)
    return model.eval(), (torch.randn(1, *size),)


def make(name, image_size=224):
    """`image_size`: the torchvision models' input (the CPU reference is slow at 224)."""
    if name in HUGGING_FACE:
        return hugging_face(name)
    if name in DIFFUSION:
        return diffusion_unet_block()
    if name in VIDEO:
        return video_model(name)
    if name in RECURRENT:
        return speech_rnn()
    if name in COMPLEX:
        return meta_rope_attention()
    if name in TIMM:
        return timm_model(name)
    return torchvision_model(name, image_size)


ALL = (TORCHVISION + SEGMENTATION + HUGGING_FACE + DIFFUSION + VIDEO + RECURRENT + COMPLEX +
       TIMM)
