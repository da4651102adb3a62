# SceneForge: `make demo` and `make test` each set up .venv and run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The CPU build of torch; pyproject.toml accepts a range, this pins the wheel we install.
TORCH  := torch==2.13.0
# Open3D 0.19.0 (0.20.0's TSDF volumes returned empty meshes here); pyproject takes a range.
OPEN3D := open3d==0.19.0
DEMO_OUT ?= out/demo

.PHONY: install demo test bench clean models

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@# Open3D needs libusb at import time (Debian package libusb-1.0-0).
	@ldconfig -p | grep -q libusb-1.0 || { apt-get update -qq && apt-get install -y -qq libusb-1.0-0; } \
		|| echo "warning: install Debian's libusb-1.0-0 for Open3D (needs root)"
	@# The viewer's browser test drives Debian's chromium through Playwright (no browser download).
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "warning: install Debian's chromium for the viewer's browser test (needs root); it is skipped without it"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" "$(OPEN3D)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	@# a fresh scene each time: reconstruct --force would keep the last demo's edits
	rm -f $(DEMO_OUT)/edits.usda $(DEMO_OUT)/edits.usda.bak
	$(VENV)/bin/sceneforge reconstruct assets/demo/room.mp4 -o $(DEMO_OUT) --force
	$(VENV)/bin/sceneforge info $(DEMO_OUT)/scene.usda --validate
	$(VENV)/bin/sceneforge render $(DEMO_OUT) -o $(DEMO_OUT)/render_cg.mp4 --mode cg --force
	$(VENV)/bin/sceneforge edit $(DEMO_OUT) delete object_01
	$(VENV)/bin/sceneforge render $(DEMO_OUT) -o $(DEMO_OUT)/edit.mp4 --force
	@echo "Open $(DEMO_OUT)/scene.usda in Blender (File > Import > USD) or usdview; $(DEMO_OUT)/render_cg.mp4 is the scene rendered back through its camera as CG, $(DEMO_OUT)/edit.mp4 the footage with object_01 deleted."

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pytest -q -m "slow" tests
	$(PY) -m tests.bench.run_all --out bench_results

# The bundled person model (assets/models/README.md) is vendored; this fetches it again from the
# npm registry and checks it. Not part of install.
MP_SELFIE_VERSION := 0.1.1675465747
MP_SELFIE_SHA256  := 8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27
models:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent @mediapipe/selfie_segmentation@$(MP_SELFIE_VERSION) >/dev/null \
		&& tar -xzf mediapipe-selfie_segmentation-$(MP_SELFIE_VERSION).tgz package/selfie_segmentation.tflite \
		&& echo "$(MP_SELFIE_SHA256)  package/selfie_segmentation.tflite" | sha256sum -c --quiet - \
		&& cp package/selfie_segmentation.tflite $(CURDIR)/assets/models/selfie_segmentation.tflite \
		&& rm -rf $$tmp && echo "assets/models/selfie_segmentation.tflite: sha256 ok"

clean:
	rm -rf $(VENV) out bench_results
