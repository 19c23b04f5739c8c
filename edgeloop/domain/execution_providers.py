"""Which onnxruntime execution providers a site's sessions ask for, best first.

A site names an ordered wish list (``SCORING_EXECUTION_PROVIDERS``); the onnxruntime
adapter passes in the names onnxruntime knows and the ones its installed build has.
A name onnxruntime does not know is a typo, refused; a known one this build lacks
(CUDA on the CPU package) is passed over so the next one serves; the CPU provider
always ends the list, as the provider every graph node can fall back to.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

CPU_PROVIDER = "CPUExecutionProvider"


class ProviderChoiceError(ValueError):
    """A wish list that cannot be used; the message names the provider."""


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """The providers a session is created with, in order, and the options of each."""

    providers: tuple[str, ...] = (CPU_PROVIDER,)
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    passed_over: tuple[str, ...] = ()  # asked for, known, but not in this onnxruntime build

    def options_of(self, provider: str) -> dict[str, str]:
        return dict(self.options.get(provider, {}))


CPU_ONLY = ProviderChoice()


def choose_providers(
    requested: Sequence[str],
    *,
    known: Collection[str],
    available: Collection[str],
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> ProviderChoice:
    """The usable part of ``requested``, CPU last; :class:`ProviderChoiceError` on a bad list."""
    options = options or {}
    _check_names(requested, known)
    for name in options:
        if name not in requested:
            raise ProviderChoiceError(f"options given for {name!r}, which is not in the list")
    chosen = tuple(name for name in requested if name in available and name != CPU_PROVIDER)
    passed_over = tuple(name for name in requested if name not in available)
    return ProviderChoice(
        providers=(*chosen, CPU_PROVIDER),
        options={
            name: dict(values) for name, values in options.items() if name in chosen or name == CPU_PROVIDER
        },
        passed_over=passed_over,
    )


def _check_names(requested: Sequence[str], known: Collection[str]) -> None:
    if not requested:
        raise ProviderChoiceError(f"empty: name at least one provider ({CPU_PROVIDER} by default)")
    for name in requested:
        if name not in known:
            raise ProviderChoiceError(
                f"unknown execution provider {name!r}; onnxruntime knows {', '.join(sorted(known))}"
            )
    duplicates = sorted({name for name in requested if requested.count(name) > 1})
    if duplicates:
        raise ProviderChoiceError(f"{', '.join(duplicates)} listed more than once")
    if CPU_PROVIDER in requested and requested[-1] != CPU_PROVIDER:
        # Every node runs on the CPU provider, so any provider after it would never be used.
        raise ProviderChoiceError(f"{CPU_PROVIDER} must come last (providers after it would never run)")
