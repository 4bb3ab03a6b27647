# regexp: every target installs what it needs into .venv first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# A CPU build of torch (fast to install here). For CUDA: make install TORCH=torch
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: help install run test test-fast lint format clean bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH)"
	# compat mode puts the repo on sys.path, so Hydra's plugin scan sees hydra_plugins/
	$(PY) -m pip install -q -e ".[dev,ray]" --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install regexp with its dev tools

run: $(STAMP)  ## the default experiment (make run ARGS="hidden_units=[64] penalty=l2")
	$(BIN)/regexp run $(ARGS)

test: $(STAMP)  ## the whole test suite, slow end-to-end sweeps included
	$(BIN)/pytest -q

test-fast: $(STAMP)  ## the tests without the slow end-to-end sweeps
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## speed ratios side by side (BENCH_ARGS="--no-keras --reproduce ...")
	$(PY) -m pip install -q -e ".[bench]" --config-settings editable_mode=compat
	$(PY) scripts/bench.py $(BENCH_ARGS)

clean:  ## remove outputs and caches (keeps .venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- The notebook, reproduced: one sweep over experiment configs per section of it, each
# into a fixed folder (cleared first, so a re-run never mixes with an old one), then the table.
REPRO        := outputs/reproduce
NB_UNITS     := model_2units_a model_2units_b model_2units_c model_8units model_128units \
                model_1024units model_8192units
NB_LAYERS    := model_1layer model_2layers model_3layers model_4layers
# The penalties and classification sections: a sweep per model (their 5 x 1024 models train
# one by one), so `make reproduce` spreads them over its two lanes and DRAWS=auto adds draws
# only to the models an undecided lesson reads (regexp/read/notebook_lessons.SWEEPS).
NB_PENALTIES := penalties-none penalties-l2-0p01 penalties-l2-0p001 penalties-l1-0p001
NB_CLASSIF   := classification-none classification-l2-0p001 classification-l2-0p01
nb_empty     :=
nb_space     := $(nb_empty) $(nb_empty)
nb_comma     := ,
# Data draws: DRAWS=N trains every model on the shipped data seed (conf/data/*.yaml) and on
# N-1 more, data.seed SEEDS_FROM, SEEDS_FROM+1, ... (default 1: SEEDS_FROM=11 checks the
# lessons on draws the configs were not chosen on), each draw a job (data.seed) of the model's
# sweep: the launcher trains a model's draws as one program where that is cheaper (all but the
# 5 x 1024 nets). DRAWS=auto starts at DRAWS_FIRST draws and adds DRAWS_BATCH at a time until
# `regexp notebook --decide` says every lesson is decided, or DRAWS_MAX: the looks of its
# sequential rule (regexp/read/statistics.py), so stopping early keeps its error. Which
# lessons: DRAWS_FOR=published (the notebook's own, printed in it) or all (ours too).
DRAWS       ?= 1
DRAWS_FIRST ?= 5
DRAWS_BATCH ?= 5
DRAWS_MAX   ?= 20
SEEDS_FROM  ?= 1
DRAWS_FOR   ?= published
nb_whole     = $(shell [ "$(1)" -ge $(2) ] 2>/dev/null && echo ok)
ifneq ($(DRAWS),auto)
ifneq ($(call nb_whole,$(DRAWS),1),ok)
$(error DRAWS: must be a whole number of at least 1, or auto, got '$(DRAWS)')
endif
endif
ifneq ($(call nb_whole,$(DRAWS_FIRST),2),ok)
$(error DRAWS_FIRST: must be a whole number of at least 2, got '$(DRAWS_FIRST)')
endif
ifneq ($(call nb_whole,$(DRAWS_BATCH),1),ok)
$(error DRAWS_BATCH: must be a whole number of at least 1, got '$(DRAWS_BATCH)')
endif
ifneq ($(call nb_whole,$(DRAWS_MAX),$(DRAWS_FIRST)),ok)
$(error DRAWS_MAX: must be a whole number of at least DRAWS_FIRST ($(DRAWS_FIRST)), got '$(DRAWS_MAX)')
endif
ifeq ($(filter published all,$(DRAWS_FOR)),)
$(error DRAWS_FOR: must be published or all, got '$(DRAWS_FOR)')
endif
ifneq ($(call nb_whole,$(SEEDS_FROM),0),ok)
$(error SEEDS_FROM: must be a whole number, got '$(SEEDS_FROM)')
endif
NB_SHIPPED  := 20200217
nb_extra     = $(shell seq $(SEEDS_FROM) $$(($(SEEDS_FROM) + $(DRAWS) - 2)))
nb_seeds     = $(subst $(nb_space),$(nb_comma),$(strip $(NB_SHIPPED) $(nb_extra)))
nb_draws     = $(if $(filter-out 1,$(DRAWS)),data.seed=$(nb_seeds))
nb_plan      = --first $(DRAWS_FIRST) --batch $(DRAWS_BATCH) --draws-max $(DRAWS_MAX) \
               --draws-for $(DRAWS_FOR)
# the report (a test puts a stand-in here to walk DRAWS=auto's loop under make -n)
NB_NOTEBOOK ?= $(BIN)/regexp notebook
# $(call nb_sweep,TARGET,EXPERIMENTS): a Hydra multirun over experiment configs (and draws), with
# NB_ARGS on top (make reproduce NB_ARGS=data.seed=1 REPRO=outputs/reproduce-seed1: one other draw)
NB_ARGS ?=
define nb_sweep
	rm -rf $(REPRO)/$(1)
	OMP_NUM_THREADS=$(NB_THREADS) $(BIN)/regexp sweep \
		+experiment=$(subst $(nb_space),$(nb_comma),$(strip $(2))) hydra.sweep.dir=$(REPRO)/$(1) \
		$(nb_draws) $(NB_ARGS)
endef
# One torch thread: on a shared 2-core machine a second thread made a 5 x 1024 step up to
# 18x slower (it waits at every barrier for a descheduled twin); alone, 1 thread is as fast
# or ~1.3x slower. `make reproduce NB_THREADS=2` on a machine of your own.
NB_THREADS ?= 1
# Sweeps at once in `make reproduce`: single-threaded sweeps share no barrier, so two of
# them use both cores. The penalties' four sweeps, the longest, start first, two on each
# lane; the others follow on whichever lane is free. NB_JOBS=1 runs them one after another.
NB_JOBS ?= 2

.PHONY: units layers penalties $(NB_PENALTIES) classification $(NB_CLASSIF) reproduce \
	reproduce-sections

units: $(STAMP)  ## notebook: one hidden layer of 2 (three seeds), 8, 128, 1024, 8192 units
	$(call nb_sweep,units,$(NB_UNITS))

layers: $(STAMP)  ## notebook: 1 to 4 hidden layers of 16 units
	$(call nb_sweep,layers,$(NB_LAYERS))

penalties: $(NB_PENALTIES)  ## notebook: 5 x 1024 ("somany") without penalty, with L2 0.01, 0.001, L1 0.001

penalties-none: $(STAMP)
	$(call nb_sweep,penalties/none,model_somany)

penalties-l2-0p01: $(STAMP)
	$(call nb_sweep,penalties/l2_0p01,model_somany_l2_0p01)

penalties-l2-0p001: $(STAMP)
	$(call nb_sweep,penalties/l2_0p001,model_somany_l2_0p001)

penalties-l1-0p001: $(STAMP)
	$(call nb_sweep,penalties/l1_0p001,model_somany_l1_0p001)

classification: $(NB_CLASSIF)  ## notebook: 5 x 1024 classifier without penalty, with L2 0.001, 0.01

classification-none: $(STAMP)
	$(call nb_sweep,classification/none,model_classification)

classification-l2-0p001: $(STAMP)
	$(call nb_sweep,classification/l2_0p001,model_classification_l2_0p001)

classification-l2-0p01: $(STAMP)
	$(call nb_sweep,classification/l2_0p01,model_classification_l2_0p01)

# The sweeps of `make reproduce`, longest first (make -j hands them out in this order);
# SWEEPS= a few of them (DRAWS=auto adds draws only to those an undecided lesson reads)
NB_SWEEPS := $(NB_PENALTIES) $(NB_CLASSIF) units layers
SWEEPS ?= $(NB_SWEEPS)

reproduce-sections: $(STAMP)
	$(MAKE) --no-print-directory -j$(NB_JOBS) --output-sync=target $(SWEEPS)

reproduce: $(STAMP)  ## the whole notebook, its lessons at the end (DRAWS=5: on 5 data draws; DRAWS=auto)
ifeq ($(DRAWS),auto)
	n=$(DRAWS_FIRST); sweeps="$(NB_SWEEPS)"; while :; do \
		echo "make reproduce DRAWS=auto: $$n data draws of $$sweeps"; \
		$(MAKE) --no-print-directory reproduce-sections DRAWS=$$n SWEEPS="$$sweeps" || exit $$?; \
		next=$$($(NB_NOTEBOOK) $(REPRO) $(nb_plan) --decide) || exit $$?; \
		set -- $$next; \
		[ "$${1:-0}" -gt "$$n" ] 2>/dev/null || break; \
		n=$$1; shift; sweeps="$$*"; \
	done
	$(NB_NOTEBOOK) $(REPRO) $(nb_plan)
else
	$(MAKE) --no-print-directory reproduce-sections
	$(NB_NOTEBOOK) $(REPRO)
endif
