"""export_projector(run=...) read back by TensorBoard's own projector plugin, as `tensorboard --logdir` would."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from nbviz import Features
from nbviz.integrations.tensorboard import _masked_crc32c, export_projector

tb = pytest.importorskip("tensorboard")


def test_masked_crc32c_matches_the_castagnoli_check_value():
    # CRC-32C of "123456789" is 0xE3069283 (RFC 3720); TFRecord masks it.
    crc = 0xE3069283
    assert _masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_a_named_run_is_listed_and_served_by_tensorboards_projector(tmp_path):
    from tensorboard.backend.event_processing.data_provider import MultiplexerDataProvider
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
    from werkzeug.test import Client

    d = load_digits()
    f = Features(d.data[:40], labels=d.target[:40], images=d.images[:40] / 16.0)
    g = Features(d.data[40:70] * 2, labels=d.target[40:70])
    config = export_projector(f, tmp_path, name="digits", run="baseline", sprite_size=8)
    export_projector(g, tmp_path, name="digits", run="finetuned")
    assert config == tmp_path / "baseline" / "projector_config.pbtxt"

    mux = EventMultiplexer()
    mux.AddRunsFromDirectory(str(tmp_path))
    mux.Reload()
    plugin = ProjectorPlugin(base_plugin.TBContext(logdir=str(tmp_path),
                                                   data_provider=MultiplexerDataProvider(mux, str(tmp_path))))
    client = Client(lambda environ, start: plugin.get_plugin_apps()[environ["PATH_INFO"]](environ, start))
    runs = client.get("/runs").get_json()
    assert set(runs) >= {"baseline", "finetuned"}
    for run, features in (("baseline", f), ("finetuned", g)):
        reply = client.get(f"/tensor?run={run}&name=digits")
        assert reply.status_code == 200, reply.get_data(as_text=True)
        tensor = np.frombuffer(reply.get_data(), dtype=np.float32).reshape(features.n, features.dim)
        np.testing.assert_allclose(tensor, features.embeddings, rtol=1e-5)
        meta = client.get(f"/metadata?run={run}&name=digits").get_data(as_text=True).split("\n")
        assert meta[: 3] == [str(v) for v in features.labels[:3]]
    sprite = client.get("/sprite_image?run=baseline&name=digits")
    assert sprite.status_code == 200 and sprite.get_data()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("run", ["../up", "a/b", "", ".hidden"])
def test_unsafe_run_names_are_refused_before_anything_is_written(tmp_path, run):
    with pytest.raises(ValueError, match="run .* is not a safe file name"):
        export_projector(Features(np.zeros((3, 2))), tmp_path / "logs", run=run)
    assert not (tmp_path / "logs").exists()
