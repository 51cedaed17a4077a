"""`TransformerModel`: p(next token) and exact whole-word p(next word | context) from any causal LM.

Example:
    >>> from lm import TransformerModel
    >>> tm = TransformerModel.from_pretrained(device="cpu", dtype="float32")  # the embedded SmolLM2-135M
    >>> tm.next_word_distribution("I hope you're having a").top(1)[0][0]
    'great'
    >>> tm.next_word_distribution("I hope you're having a ", prefix="wond").top(1)[0][0]
    'wonderful'
    >>> tm.close()  # its engine's thread stops

The examples of the methods below use such a `tm`, one shared by the doctests (`conftest.py`).
"""

from __future__ import annotations

import copy
import math
import re
import threading
from collections import OrderedDict
from typing import Callable

import torch

from lm.core.distribution import OTHER, Distribution
from lm.core.generation import generate_words
from lm.core.tokenize import stable_tail
from lm.transformer.context_states import ContextStates
from lm.transformer.engine import BACKGROUND, Engine, Job, Work
from lm.transformer.loading import load_causal_lm
from lm.transformer.scoring import word_log_probs
from lm.transformer.token_text import TokenText
from lm.transformer.word_search import KEYBOARD, SearchBudget, WordSearchResult, search_steps

MAX_CONTEXT_TOKENS = 256  # tokens of context the keyboard reads (each row of a batch copies their KV cache)
BACKGROUND_CONTEXTS = 96  # contexts kept for evaluation and Compare, apart from the typists' (`MAX_CONTEXTS`)
BACKGROUND_CACHE_BYTES = 512 << 20
OWNERS_APART = 64  # pages kept apart at most (`pages_apart`), each with its own cache; the least recent go first
CONTEXTS_PER_OWNER = 4  # contexts kept per page when pages are kept apart
# The next word follows these directly, without a space: an opening quote or bracket (after a space or at
# the start; after a letter a quote closes), a hyphen or slash, a currency sign, # or @.
_WORD_FOLLOWS_DIRECTLY = re.compile(r"(?:\A|\s)[\"“‘'(\[{]+\Z|[-‐/$£€#@]\Z")


def message_start(tokenizer) -> list[int]:
    """Token ids that put a chat model at the start of a user's message: its chat template up to where
    the message's text goes (``[]`` for a tokenizer without one). What people type into a keyboard is a
    message, and an instruct model reads it as one only inside this frame: after it, "Have a nice" is
    followed by " day" (74 %); after the bare start token, by " way" or " cup", as web text would be.

    Example:
        >>> tm.tokenizer.decode(message_start(tm.tokenizer)).endswith("<|im_start|>user\\n")
        True
    """
    marker = "\ue000"  # a private-use character no template writes
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": marker}], tokenize=False)
    except Exception:  # no template, or one that refuses a lone user message: fall back on the start token
        return []
    if not isinstance(text, str) or marker not in text:
        return []
    return tokenizer.encode(text[: text.index(marker)], add_special_tokens=False)


class TransformerModel:
    """A causal LM with its tokenizer, answering next-token and whole-next-word questions.

    It is safe to share between threads: every forward pass runs on its `lm.transformer.engine.Engine`, which merges
    the passes of many callers (users) into one. What a call is (its priority, whom it is for) is the
    model's `work`: none (a `VIEW` job per call, in the typists' cache), or the one a handle was made with
    (`working`). Evaluation and Compare (`lm.transformer.engine.BACKGROUND` work) keep their contexts in a
    cache of their own, so they never evict the typists' contexts.
    """

    def __init__(self, tokenizer, model, device: torch.device, name: str = "model", load_options: dict | None = None):
        self.tokenizer, self.model, self.device, self.name = tokenizer, model, device, name
        self.load_options = (
            load_options  # `from_pretrained` arguments that load this model again (another process), if known
        )
        vocab_size = model.get_output_embeddings().weight.shape[0]
        self.tokens = TokenText.from_tokenizer(tokenizer, vocab_size)
        self.engine = Engine(model)
        self.states = ContextStates(self.engine)  # the typists' contexts
        self.background_states = ContextStates(self.engine, BACKGROUND_CONTEXTS, max_bytes=BACKGROUND_CACHE_BYTES)
        self.pages_apart = False  # True: each owner (`lm.transformer.engine.Work.owner`) reads only its own cache
        self.work: Work | None = None  # what this handle's calls are (`working`); None: each a VIEW job of its own
        self._owners: OrderedDict[str, ContextStates] = OrderedDict()  # their caches, when kept apart
        self._owners_lock = threading.Lock()
        window = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", 1024)
        self.window = window - 16  # tokens one plain pass may hold (log_likelihood)
        start_token = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        # Every text is read after this frame (`context_ids`): the chat template's start of a user message,
        # else the plain start token (BOS, or EOS as a document separator), else nothing.
        self.frame = message_start(tokenizer) or ([start_token] if start_token is not None else [])
        self.max_context_tokens = min(MAX_CONTEXT_TOKENS, self.window - len(self.frame))  # of the text's own
        self.prob_dtype = torch.float32 if device.type == "mps" else torch.float64

    def __repr__(self) -> str:
        return f"TransformerModel({self.name!r}, {type(self.model).__name__}, {self.model.dtype}, {self.device})"

    @classmethod
    def from_pretrained(cls, name_or_path=None, device: str = "auto", dtype: str = "auto") -> "TransformerModel":
        """Load the embedded default (``None``), a ``.gguf`` file, a local folder or a hub id.

        device: ``"auto"`` (cuda, else mps, else cpu) or a device name; dtype: ``"auto"``,
        ``"float32"``, ``"bfloat16"`` or ``"float16"``. Raises `lm.transformer.loading.ModelLoadError` (a
        ``ValueError``) naming the model when it cannot be loaded.
        """
        tokenizer, model, device = load_causal_lm(name_or_path, device, dtype)
        name = "SmolLM2-135M-Instruct" if name_or_path in (None, "default") else str(name_or_path)
        options = {
            "name_or_path": name_or_path,
            "device": str(device),
            "dtype": str(model.dtype).removeprefix("torch."),
        }
        return cls(tokenizer, model, device, name, options)

    def close(self) -> None:
        """Stop the engine's thread (the model cannot run after this)."""
        self.engine.close()

    def working(self, work: Work) -> "TransformerModel":
        """This model doing `work` (`lm.transformer.engine.Work`: a priority, whom it is for, a job): a handle that
        shares the weights, the engine and the caches, and whose every call runs as that work. The keyboard
        makes one per keystroke (`KEYSTROKE`, the typist's page), the prefetcher per hint, the evaluation
        one for its whole run (`BACKGROUND`).

        Example:
            >>> from lm.transformer.engine import KEYSTROKE
            >>> typing = tm.working(Work(KEYSTROKE, owner="10.0.0.7"))
            >>> typing.work.priority == KEYSTROKE, typing.engine is tm.engine, tm.work is None
            (True, True, True)
            >>> typing.next_word_distribution("Have a nice").top(1)[0][0]
            'day'
        """
        if not isinstance(work, Work):
            raise ValueError(f"`work` has to be a `lm.transformer.engine.Work`, but is {type(work).__name__}")
        handle = copy.copy(self)  # the same weights, engine, caches and locks: only `work` is its own
        handle.work = work
        return handle

    def _states(self) -> ContextStates:
        """The cache for this handle's work: background work has its own. With `pages_apart`, each owner
        (`Work.owner`: a page's address) has its own, so no page can time whether another typed a text (a
        context cached answers in ~15 ms, a fresh one in ~290 ms); work for no owner gets a cache of its
        own that is dropped after it."""
        work = self.work or Work()
        if work.priority == BACKGROUND:
            return self.background_states
        if not self.pages_apart:
            return self.states
        owner = work.owner
        if owner is None:
            return ContextStates(self.engine, CONTEXTS_PER_OWNER)
        with self._owners_lock:
            states = self._owners.pop(owner, None) or ContextStates(
                self.engine, CONTEXTS_PER_OWNER, max_bytes=self.states.max_bytes // OWNERS_APART
            )
            self._owners[owner] = states
            while len(self._owners) > OWNERS_APART:
                self._owners.popitem(last=False)
            return states

    # ---- contexts --------------------------------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def context_ids(self, text: str) -> tuple[int, ...]:
        """The one place a text becomes the model's context: the frame (the start of a user's message, see
        `message_start`), then the text's tokens, cut from the left to `max_context_tokens` (`_clip`).
        Chips, charts, explanations, generation, Compare and `lm.evaluation.evaluate` all read a text this way.

        Example:
            >>> tm.tokenizer.decode(tm.context_ids("Have a nice"))[-28:]
            '<|im_start|>user\\nHave a nice'
        """
        ids = tuple(self.frame) + tuple(self._clip(self._encode(text)) if text.strip() else ())
        if not ids:
            raise ValueError(f"model {self.name!r} has no chat template, BOS or EOS token to start an empty text with")
        return ids

    def _clip(self, ids: list[int]) -> list[int]:
        """Cut a long context from the left, a block of tokens at a time, to at most `max_context_tokens`.

        Cutting whole blocks keeps the kept part stable while typing, so the KV cache of the previous
        keystroke still applies (a cut one token at a time would change every position, every time).
        """
        excess, block = len(ids) - self.max_context_tokens, max(1, self.max_context_tokens // 4)
        return ids if excess <= 0 else ids[(excess // block + 1) * block :]

    def _context(self, context: str) -> tuple[tuple[int, ...], str]:
        """(token ids, separator) for the text before the next word, framed (`context_ids`).

        A trailing space is folded into the next word's first token (separator ``" "``); after a
        line break, an opening quote or bracket, a hyphen, a currency sign, or at the very start, the word
        follows directly (``""``), and after anything else a space is assumed. An empty context is the
        frame alone (the start of a message), so the first word is a sentence-start word.
        """
        characters = 8 * self.max_context_tokens  # plenty for max_context_tokens tokens
        text = stable_tail(context, characters, characters // 4)
        separator = " "
        if text.endswith(" "):
            text = text[:-1]
        elif text[-1:] in ("\n", "\r", "\t") or _WORD_FOLLOWS_DIRECTLY.search(text):
            separator = ""
        if not text.strip():
            separator = ""  # the very start: the first word follows the frame directly
        return self.context_ids(text), separator

    # ---- distributions ---------------------------------------------------------------------

    def next_token_distribution(self, context: str) -> Distribution:
        """p(next token | context) over the whole vocabulary; words are the tokens' decoded texts.

        Example:
            >>> tm.next_token_distribution("The capital of France is").top(1)[0][0]
            ' Paris'
        """
        ids = self.context_ids(context)
        logprobs = self._states().state(ids, self.work).logprobs
        return Distribution(self.tokens.texts, logprobs.exp().to(self.prob_dtype))

    def word_search(
        self,
        context: str,
        prefix: str = "",
        budget: SearchBudget = KEYBOARD,
        before_each_pass: Callable[[], None] | None = None,
    ) -> WordSearchResult:
        """Run the whole-word search after `context`, for words starting with `prefix`.

        `before_each_pass` is called before every batched forward pass (a prefetcher raises there to stop).
        The search runs as one job on the model's engine (`lm.transformer.engine`), its passes merged with other users'.
        """
        ids, separator = self._context(context)
        steps = self._search_job(self._states(), ids, separator, prefix, budget, before_each_pass)
        return self.engine.run_job(steps, self.work)

    def _search_job(self, states: ContextStates, ids, separator, prefix, budget, before_each_pass) -> Job:
        """The whole search as one engine job: the context's state, then each batch of paths to expand."""
        state = yield from states.state_steps(ids)
        steps = search_steps(state.logprobs, self.tokens, separator, prefix, budget)
        try:
            paths = next(steps)
            while True:
                if before_each_pass is not None:
                    before_each_pass()
                paths = steps.send((yield from states.expand_steps(state, paths)))
        except StopIteration as done:
            return done.value

    def next_word_distribution(self, context: str, prefix: str = "", budget: SearchBudget = KEYBOARD) -> Distribution:
        """p(w | context, a word comes next) for the words the search lists (or p(w | context, w starts with prefix)).

        Each listed word's probability is the search's p(w | context) divided by P(a word comes next |
        context), the mass of the tokens that can start a word (see `lm.transformer.word_search`); ``no_word`` is the
        rest (punctuation, a line break, the end of the text), ``other`` the words the search did not list.
        One search per context and budget: the keyboard's chips, the charts, sampling and the API all read
        this distribution, so a word shows the same number everywhere.

        Example:
            >>> d = tm.next_word_distribution("The capital of France is")
            >>> d.top(1)[0][0], round(float(d.probs.sum()) + d.other, 6)
            ('Paris', 1.0)
        """
        result = self.word_search(context, prefix, budget)
        ranked = sorted(result.words.items(), key=lambda item: (-item[1], item[0]))
        scale = 1.0 if prefix else result.word_mass  # with a prefix the search has already conditioned on it
        if scale <= 0:
            ranked = []
        probs = torch.tensor([p / scale for _, p in ranked], dtype=self.prob_dtype, device=self.device)
        listed = float(probs.sum()) if ranked else 0.0
        other = min(1.0, max(0.0, 1.0 - listed)) if ranked else 0.0
        no_word = None if prefix else min(1.0, max(0.0, 1.0 - result.word_mass))
        note = "" if ranked or not prefix else f"no likely word starts with {prefix!r}"
        return Distribution([word for word, _ in ranked], probs, note, other, no_word)

    def top_next_words(self, context: str, k: int = 3, prefix: str = "") -> list[tuple[str, float]]:
        """The keyboard's path: the `k` most likely next words, searched only as far as needed; the same
        numbers as `next_word_distribution` (with the keyboard's budget for k = 3)."""
        budget = (
            KEYBOARD
            if k == KEYBOARD.k
            else SearchBudget(k=k, batch_size=8, fanout=max(8, k), max_steps=4, min_prob=1e-3)
        )
        return self.next_word_distribution(context, prefix, budget).top(k)

    def explain(self, context: str, word: str, prefix: str = "", budget: SearchBudget = KEYBOARD) -> str:
        """The arithmetic behind ``next_word_distribution(context, prefix, budget).prob(word)``: every token
        path the search summed into `word`, each factor p(token | context, tokens before it), times p(the
        word ends), all divided by P(a word comes next) (or by P(the word starts with the prefix)).

        Example:
            >>> print(tm.explain("I hope you're having a", "great"))  # doctest: +ELLIPSIS
            p(great | text, a word comes next)
              = [p(' great') 0.69... × p(the word ends) 0.99...]
              / P(a word comes next) 0.99...
              = 0.69... / 0.99... = 69.3%
        """
        result = self.word_search(context, prefix, budget)
        paths = result.paths.get(word)
        if not paths:
            return f"{word!r} is not among the words the search listed after this text: its mass is in {OTHER!r}"
        condition, mass = (
            (f"the word starts with {prefix!r}", result.prefix_mass)
            if prefix
            else ("a word comes next", result.word_mass)
        )
        terms = [
            " × ".join(
                [
                    *(f"p({token!r}) {factor:.4f}" for token, factor in zip(path.tokens, path.factors)),
                    f"p(the word ends) {path.end:.4f}",
                ]
            )
            for path in paths
        ]
        summed = sum(math.prod(path.factors) * path.end for path in paths)
        return "\n".join(
            [
                f"p({word} | text, {condition})",
                "  = [" + "\n     + ".join(terms) + "]",
                f"  / P({condition}) {mass:.4f}",
                f"  = {summed:.4f} / {mass:.4f} = {summed / mass:.1%}",
            ]
        )

    def logits(self, ids: list[int]) -> torch.Tensor:
        """(len(ids), vocab) logits after each prefix of `ids`, from one plain pass on the engine (no cache).

        Example:
            >>> tm.logits(tm.tokenizer.encode("Hello there")).shape[0]
            2
        """

        def forward():
            with torch.inference_mode():
                return self.model(input_ids=torch.tensor([ids], device=self.device)).logits[0]

        return self.engine.call(forward, self.work)

    # ---- scoring and generating ------------------------------------------------------------

    def log_likelihood(self, text: str, context: str = "") -> float:
        """Natural-log probability of `text`'s tokens after `context`, read as every text is: after the frame
        (`context_ids`, without its cut). Only a model with no frame at all leaves the first token of a
        text with an empty context unscored: nothing comes before it to condition on.

        Example:
            >>> context = "The capital of France is"
            >>> tm.log_likelihood(" Paris", context) > tm.log_likelihood(" Rome", context)
            True
        """
        context_ids, text_ids = self.frame + self._encode(context), self._encode(text)
        if not context_ids:
            context_ids, text_ids = text_ids[:1], text_ids[1:]
        if not text_ids:
            return 0.0
        ids = context_ids + text_ids
        if len(ids) > self.window:
            raise ValueError(f"`text` and `context` hold {len(ids)} tokens; the model's window is {self.window}")
        logits = self.logits(ids)[len(context_ids) - 1 : -1]
        logprobs = torch.log_softmax(logits.double(), dim=-1)
        return float(logprobs.gather(1, torch.tensor(text_ids, device=logits.device)[:, None]).sum())

    def word_log_probs(self, text: str, words: list[tuple[str, int]]) -> list[float]:
        """ln p(word | the text before it) for each (word, start offset) of `text`, from one pass over the text
        (`lm.transformer.scoring`): what the evaluation's perplexity reads.

        Example:
            >>> [round(lp, 1) for lp in tm.word_log_probs("Have a nice day", [("day", 12)])]
            [-0.3]
        """
        return word_log_probs(self, text, words)

    def generate_words(
        self,
        context: str,
        n_words: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """Sample `n_words` words one at a time, x ~ p(x | context so far, a word comes next), warped as asked
        (a draw of the words the search could not list is drawn again: see `Distribution.sample_word`).

        Example:
            >>> tm.generate_words("The capital of France is", 1, temperature=0)
            'Paris'
        """
        return generate_words(self.next_word_distribution, context, n_words, temperature, top_k, top_p, seed)
