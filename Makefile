# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench fashion-mnist clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	printf 'torch==2.13.0\n' > $(VENV)/constraints.txt
	$(PY) -m pip install --quiet -c $(VENV)/constraints.txt -e '.[dev,study,ray,links]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/symcodec reproduce

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/codec_speed.py
	$(PY) bench/channel_speed.py
	$(PY) bench/train_speed.py
	$(PY) bench/study_speed.py

# Issue 7: symcodec vs NNCodec (bench/vs_nncodec.py) in a separate environment, .venv-nncodec:
# NNCodec 2.1.3 pins numpy<2 and requires torchvision, which has no build for this CPU torch
# (the script stubs its import). nncodec is installed with --no-deps and its other
# requirements under a constraints file pinning torch==2.13.0, so pip never replaces the
# local CPU wheel by a CUDA build. Extra arguments: make bench-nncodec NNCODEC_ARGS=--quick
NNC_VENV  := .venv-nncodec
NNC_PY    := $(NNC_VENV)/bin/python
NNC_STAMP := $(NNC_VENV)/.installed
NNCODEC_ARGS ?=

.PHONY: bench-nncodec

$(NNC_STAMP): pyproject.toml
	test -x $(NNC_PY) || $(PYTHON) -m venv $(NNC_VENV)
	$(NNC_PY) -m pip install --quiet --upgrade pip
	$(NNC_PY) -m pip install --quiet torch==2.13.0
	printf 'torch==2.13.0\nnumpy<2\n' > $(NNC_VENV)/constraints.txt
	$(NNC_PY) -m pip install --quiet --no-deps nncodec==2.1.3
	$(NNC_PY) -m pip install --quiet -c $(NNC_VENV)/constraints.txt 'Click>=7.0' \
		'scikit-learn>=0.23.1' 'tqdm>=4.32.2' 'h5py>=3.1.0' 'pybind11>=2.6.2' \
		'pandas>=1.0.5' 'opencv-python>=4.4.0.46' 'ptflops>=0.7' 'torchmetrics>=0.11.4' \
		'numpy<2'
	$(NNC_PY) -m pip install --quiet -c $(NNC_VENV)/constraints.txt -e '.[study]'
	touch $(NNC_STAMP)

bench-nncodec: $(NNC_STAMP)
	$(NNC_PY) bench/vs_nncodec.py $(NNCODEC_ARGS)

# Fashion-MNIST (70k images) from Debian's package, installed under /usr/share/datasets/fashion-mnist.
fashion-mnist:
	apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
