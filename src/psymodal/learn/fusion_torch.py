"""Intermediate fusion: a small torch network with one encoder per modality.

Each modality block is encoded separately; the embeddings are fused either by concatenation
(with availability indicators) or by a learned gate (softmax attention over the modalities a
subject has). Missing modalities are masked, and modality dropout during training teaches the
network to predict from any subset. Training is deterministic on CPU: all randomness comes from
generators seeded with ``random_state`` inside a forked RNG state.

With ``dp_epsilon`` set the network is trained with DP-SGD (opacus 1.6, an optional extra:
``pip install psymodal[privacy]``): Poisson-sampled batches, every subject's gradient clipped
to ``dp_max_grad_norm`` and Gaussian noise calibrated by opacus so that the
fitted weights are (``dp_epsilon``, ``dp_delta``)-DP after ``dp_epochs`` epochs (Rényi DP
accountant). Nothing outside
the accounting looks at the labels: no validation split or early stopping (a fixed number of
epochs), no class weights, and a subject with no modality gets 0.5 instead of the training
prevalence. As for ``dp_logistic``, the in-fold imputation and standardisation before the
network are not privatised.
"""

from __future__ import annotations

import copy
import functools
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn

#: Rényi orders of the accountant: integers only. opacus' default adds fractional orders whose
#: terms take ~10 s per calibration; without them the noise is at most 0.5 % larger (epsilon
#: 1-8, sampling rate 0.5, 30 epochs) and the bound as valid.
_ALPHAS = (*range(2, 65), 80, 96, 128, 160, 192, 256, 512)


@functools.lru_cache(maxsize=64)
def _noise_multiplier(epsilon: float, delta: float, sample_rate: float, epochs: int) -> float:
    """The DP-SGD noise that spends (epsilon, delta) over ``epochs`` (opacus' RDP accountant;
    cached: the calibration takes seconds and every fold of a CV asks for about the same)."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            epochs=epochs,
            accountant="rdp",
            alphas=list(_ALPHAS),
        )
    )


@functools.lru_cache(maxsize=64)
def _epsilon_spent(history: tuple, delta: float) -> float:
    """Epsilon of the steps taken (opacus' RDP accountant over its history)."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(history)
    return float(accountant.get_epsilon(delta, alphas=list(_ALPHAS)))


class _FusionNet(nn.Module):
    def __init__(self, dims, hidden, embedding, fusion, dropout):
        super().__init__()
        self.fusion = fusion
        self.encoders = nn.ModuleList(
            nn.Sequential(
                nn.Linear(d, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, embedding),
                nn.ReLU(),
            )
            for d in dims
        )
        m = len(dims)
        if fusion == "gate":
            self.gate = nn.Linear(embedding, 1)
            self.head = nn.Linear(embedding, 1)
        else:
            self.head = nn.Sequential(
                nn.Linear(m * embedding + m, hidden), nn.ReLU(), nn.Linear(hidden, 1)
            )

    def forward(self, inputs, mask):
        embeddings = torch.stack([enc(x) for enc, x in zip(self.encoders, inputs, strict=True)], 1)
        if self.fusion == "gate":
            scores = self.gate(embeddings).squeeze(-1)
            scores = scores.masked_fill(mask == 0, -1e9)
            weights = torch.softmax(scores, dim=1) * mask  # a subject with no modality: zeros
            fused = (weights.unsqueeze(-1) * embeddings).sum(1)
            return self.head(fused).squeeze(-1), weights
        fused = torch.cat([(embeddings * mask.unsqueeze(-1)).flatten(1), mask], dim=1)
        return self.head(fused).squeeze(-1), mask


class FusionNetClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier with one encoder per modality and concatenation or gated fusion.

    Parameters
    ----------
    blocks : dict of str to list, optional
        Modality -> its columns (names for a DataFrame ``X``, positions for an array). ``None``
        treats all columns as one modality. Other columns of ``X`` are ignored.
    hidden, embedding : int
        Encoder hidden and output widths.
    fusion : {"gate", "concat"}
    modality_dropout : float
        Probability of hiding each available modality of a training subject per batch (one is
        always kept).
    dropout, weight_decay, lr : float
    max_epochs, patience, batch_size : int
        Training stops when the validation loss has not improved for ``patience`` epochs; the
        best weights are restored.
    validation_fraction : float
        Stratified share of the training data held out for early stopping.
    random_state : int
    dp_epsilon : float or None
        Train with DP-SGD to this (epsilon, delta) guarantee; None trains without privacy.
    dp_delta : float
        The delta of the guarantee (well below 1/n, the usual bound, for any study of up to
        10,000 subjects at the default).
    dp_max_grad_norm : float
        Per-subject gradient clipping norm.
    dp_epochs : int
        Epochs of DP training (the budget is spread over them).

    Attributes
    ----------
    epsilon_, delta_ : float
        With ``dp_epsilon``: the guarantee spent (opacus' accountant; at most ``dp_epsilon``).

    Notes
    -----
    Within each modality, missing values are imputed with training medians and features are
    standardised with training statistics. A modality is missing for a subject when all its
    values are missing; a subject with no modality gets the training prevalence.
    """

    def __init__(
        self,
        blocks=None,
        hidden=32,
        embedding=16,
        fusion="gate",
        modality_dropout=0.2,
        dropout=0.2,
        weight_decay=1e-3,
        lr=1e-2,
        max_epochs=200,
        patience=20,
        batch_size=64,
        validation_fraction=0.2,
        random_state=0,
        dp_epsilon=None,
        dp_delta=1e-5,
        dp_max_grad_norm=1.0,
        dp_epochs=30,
    ):
        self.blocks = blocks
        self.hidden = hidden
        self.embedding = embedding
        self.fusion = fusion
        self.modality_dropout = modality_dropout
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_epochs = dp_epochs

    # -- data -------------------------------------------------------------------------------
    def _arrays(self, X, reset):
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        arr = validate_data(self, X, ensure_all_finite="allow-nan", reset=reset, dtype=np.float64)
        if names is None and hasattr(self, "feature_names_in_"):
            names = [str(c) for c in self.feature_names_in_]
        if reset:
            blocks = self.blocks or {"all": list(range(arr.shape[1]))}
            self.block_names_ = list(blocks)
            index = {name: i for i, name in enumerate(names or [])}
            self._positions = [
                [index[c] if isinstance(c, str) else int(c) for c in cols]
                for cols in blocks.values()
            ]
        parts = [arr[:, pos] for pos in self._positions]
        mask = np.stack([~np.isnan(p).all(axis=1) for p in parts], axis=1).astype(np.float64)
        return parts, mask

    def _standardize(self, parts, fit):
        if fit:
            self._medians, self._means, self._scales = [], [], []
            for p in parts:
                with warnings.catch_warnings():
                    # An all-missing column has no median: it is filled with 0.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med = np.nan_to_num(np.nanmedian(p, axis=0))
                filled = np.where(np.isnan(p), med, p)
                sd = filled.std(axis=0)
                self._medians.append(med)
                self._means.append(filled.mean(axis=0))
                self._scales.append(np.where(sd > 0, sd, 1.0))
        out = []
        for p, med, mu, sd in zip(parts, self._medians, self._means, self._scales, strict=True):
            out.append(torch.from_numpy(((np.where(np.isnan(p), med, p) - mu) / sd).astype("f8")))
        return out

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, y):
        """Train with early stopping on a stratified validation split."""
        parts, mask = self._arrays(X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(parts[0], y)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}."
            )
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if self.fusion not in ("gate", "concat"):
            raise ValueError(f"fusion must be 'gate' or 'concat', got {self.fusion!r}")
        y_idx = y_idx.astype(np.float64)
        if self.dp_epsilon is not None:
            return self._fit_private(parts, mask, y_idx)
        n = len(y_idx)
        rng = np.random.default_rng(self.random_state)
        counts = np.bincount(y_idx.astype(int), minlength=2)
        n_val = int(round(self.validation_fraction * n))
        if n_val >= 2 and counts.min() >= 2 and n - n_val >= 2:
            splitter = StratifiedShuffleSplit(1, test_size=n_val, random_state=self.random_state)
            train, val = next(splitter.split(np.zeros(n), y_idx))
        else:  # too few subjects to hold some out: train on all, stop at max_epochs
            train, val = np.arange(n), np.array([], dtype=int)
        self.prevalence_ = float(y_idx.mean())
        tensors = self._standardize(parts, fit=True)
        target = torch.from_numpy(y_idx)
        mask_t = torch.from_numpy(mask)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            net = _FusionNet(
                [t.shape[1] for t in tensors],
                self.hidden,
                self.embedding,
                self.fusion,
                self.dropout,
            ).double()  # float64: predictions must not depend on the batch composition
            pos = float(y_idx[train].sum())
            pos_weight = torch.tensor((len(train) - pos) / max(pos, 1.0))
            loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            best, best_state, stale = np.inf, copy.deepcopy(net.state_dict()), 0
            self.n_iter_ = 0
            for epoch in range(self.max_epochs):
                net.train()
                order = train[rng.permutation(len(train))]
                for start in range(0, len(order), self.batch_size):
                    idx = torch.from_numpy(order[start : start + self.batch_size])
                    m = mask_t[idx]
                    if self.modality_dropout > 0 and m.shape[1] > 1:
                        keep = torch.from_numpy(
                            (rng.random(tuple(m.shape)) >= self.modality_dropout).astype("f8")
                        )
                        dropped = m * keep
                        # Never hide every modality a subject has.
                        m = torch.where(dropped.sum(1, keepdim=True) > 0, dropped, m)
                    logits, _ = net([t[idx] for t in tensors], m)
                    loss = loss_fn(logits, target[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                self.n_iter_ = epoch + 1
                if len(val) == 0:
                    best_state = copy.deepcopy(net.state_dict())
                    continue
                net.eval()
                with torch.no_grad():
                    vi = torch.from_numpy(val)
                    logits, _ = net([t[vi] for t in tensors], mask_t[vi])
                    val_loss = float(loss_fn(logits, target[vi]))
                if val_loss < best - 1e-6:
                    best, best_state, stale = val_loss, copy.deepcopy(net.state_dict()), 0
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        return self

    def _hidden_masks(self, m, rng):
        """Modality dropout of one batch's availability mask (never every modality)."""
        if self.modality_dropout <= 0 or m.shape[1] < 2:
            return m
        keep = torch.from_numpy((rng.random(tuple(m.shape)) >= self.modality_dropout).astype("f8"))
        dropped = m * keep
        return torch.where(dropped.sum(1, keepdim=True) > 0, dropped, m)

    def _fit_private(self, parts, mask, y_idx):
        """DP-SGD training (opacus): fixed epochs, Poisson batches, clipped and noised
        per-subject gradients."""
        try:
            from opacus import PrivacyEngine
        except ImportError as error:  # an optional extra: say how to get it
            raise ImportError(
                "a differentially private fusion network needs opacus: "
                "pip install 'opacus==1.6.0' (psymodal[privacy])"
            ) from error
        from torch.utils.data import DataLoader, TensorDataset

        if not self.dp_epsilon > 0:
            raise ValueError(f"dp_epsilon must be > 0, got {self.dp_epsilon!r}")
        if not 0 < self.dp_delta < 1:
            raise ValueError(f"dp_delta must be in (0, 1), got {self.dp_delta!r}")
        n = len(y_idx)
        delta = float(self.dp_delta)
        rng = np.random.default_rng(self.random_state)
        self.prevalence_ = 0.5  # the training prevalence is not part of the guarantee
        tensors = self._standardize(parts, fit=True)
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # opacus warns that secure_mode is off (its RNG is not cryptographic) and about
            # optimizer internals; the guarantee holds for the accountant's noise either way
            warnings.simplefilter("ignore")
            torch.manual_seed(self.random_state)
            generator = torch.Generator().manual_seed(self.random_state)
            net = _FusionNet(
                [t.shape[1] for t in tensors],
                self.hidden,
                self.embedding,
                self.fusion,
                self.dropout,
            ).double()
            dataset = TensorDataset(*tensors, torch.from_numpy(mask), torch.from_numpy(y_idx))
            loader = DataLoader(dataset, batch_size=min(self.batch_size, n), generator=generator)
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            engine = PrivacyEngine(accountant="rdp")
            sigma = _noise_multiplier(
                float(self.dp_epsilon), delta, 1.0 / len(loader), int(self.dp_epochs)
            )
            net, opt, loader = engine.make_private(
                module=net,
                optimizer=opt,
                data_loader=loader,
                noise_multiplier=sigma,
                max_grad_norm=float(self.dp_max_grad_norm),
                noise_generator=generator,
            )
            loss_fn = nn.BCEWithLogitsLoss()
            for _ in range(int(self.dp_epochs)):
                net.train()
                for *inputs, m, target in loader:
                    opt.zero_grad()
                    if len(target):
                        logits, _ = net(inputs, self._hidden_masks(m, rng))
                        loss_fn(logits, target).backward()
                    opt.step()  # an empty Poisson batch still takes its noisy step
            self.epsilon_ = _epsilon_spent(tuple(engine.accountant.history), delta)
        self.delta_ = delta
        self.n_iter_ = int(self.dp_epochs)
        self.net_ = net._module.eval()
        return self

    def net_state(self) -> dict:
        """The fitted network as plain data: its encoder input widths and ``state_dict``.

        Saved with :func:`torch.save` it loads back with ``torch.load(weights_only=True)``,
        which runs no code; :meth:`load_net_state` rebuilds the network from it.
        """
        check_is_fitted(self, "net_")
        return {
            "dims": [int(encoder[0].in_features) for encoder in self.net_.encoders],
            "state_dict": {k: v.detach().clone() for k, v in self.net_.state_dict().items()},
        }

    def load_net_state(self, state: dict) -> FusionNetClassifier:
        """Rebuild ``net_`` from :meth:`net_state` with this estimator's architecture."""
        net = _FusionNet(
            state["dims"], self.hidden, self.embedding, self.fusion, self.dropout
        ).double()
        net.load_state_dict(state["state_dict"])
        net.eval()
        self.net_ = net
        return self

    def _forward(self, X):
        check_is_fitted(self, "net_")
        parts, mask = self._arrays(X, reset=False)
        tensors = self._standardize(parts, fit=False)
        with torch.no_grad():
            logits, weights = self.net_(tensors, torch.from_numpy(mask))
        prob = torch.sigmoid(logits).numpy().astype(np.float64)
        none = mask.sum(axis=1) == 0
        prob[none] = self.prevalence_
        return prob, weights.numpy()

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p, _ = self._forward(X)
        return np.column_stack([1 - p, p])

    def decision_function(self, X):
        """Log-odds of ``classes_[1]``."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def predict(self, X):
        """Class with probability >= 0.5."""
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]

    def modality_weights(self, X) -> pd.DataFrame:
        """Per-subject fusion weights (gate) or availability (concat), one column per block."""
        _, w = self._forward(X)
        return pd.DataFrame(w, columns=self.block_names_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = False
        return tags
