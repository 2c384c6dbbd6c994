"""Client.generate on a character model imported from PyTorch, against PyTorch sampling the
same module with NumPy's generator."""

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from app.tasks.char_lm import vocabulary
from rnn_explorer import ApiError, Client
from tests.servers import LiveServer

CHARS = vocabulary().chars  # the shipped corpus's: a model never trained on char_lm reads these


class CharModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(len(CHARS), 16, batch_first=True, dtype=torch.float64)
        self.decoder = torch.nn.Linear(16, len(CHARS), dtype=torch.float64)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        H, h_T = self.gru(x, h)
        return self.decoder(H), h_T


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with (
        LiveServer(tmp_path_factory.mktemp("generate") / "data") as live,
        Client(live.base_url) as made,
    ):
        yield made


def torch_sample(
    module: CharModel, prefix: str, length: int, temperature: float, top_k: int, seed: int
) -> tuple[str, list[float]]:
    rng = np.random.default_rng(seed)
    one_hot = torch.eye(len(CHARS), dtype=torch.float64)
    logits, h = module(one_hot[[CHARS.index(c) for c in prefix]][None])
    text, probabilities = "", []
    with torch.no_grad():
        for _ in range(length):
            last = logits[0, -1].numpy()
            weights = np.exp((last - last.max()) / temperature)
            weights[np.argsort(-last)[top_k:]] = 0.0
            p = weights / weights.sum()
            k = int(rng.choice(len(CHARS), p=p))
            text += CHARS[k]
            probabilities.append(float(p[k]))
            logits, h = module(one_hot[[k]][None], h)
    return text, probabilities


def test_client_generate_equals_pytorchs_sampling_of_the_same_module(client: Client) -> None:
    torch.manual_seed(4)
    module = CharModel()
    model = client.import_torch(module, head="decoder", output_mode="sequence", name="chars")
    answer = client.generate(model["id"], "The ferry", 40, temperature=0.9, top_k=6, seed=21)
    expected, probabilities = torch_sample(module, "The ferry", 40, 0.9, 6, 21)
    assert answer["text"] == "The ferry" + expected
    np.testing.assert_allclose(answer["probabilities"], probabilities, rtol=1e-9)
    assert client.generate(model["id"], "The ferry", 40, temperature=0.9, top_k=6, seed=21) == (
        answer
    )
    with pytest.raises(ApiError) as refused:
        client.generate(model["id"], "The ferry", 40, temperature=0.0)
    assert refused.value.status == 422
