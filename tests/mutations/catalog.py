"""The mutations ``tests/mutations/run.py`` applies: one feature removed, one test to catch it.

Each :class:`Mutation` replaces ``old`` (which must occur exactly once in ``path``)
by ``new``: the smallest edit that removes the feature named, not a crash. ``tests``
are pytest node ids, relative to the repository root; the mutation is caught when
one of them fails. ``backend`` runs them under that ``KERAS_BACKEND`` (the default
run's backend, TensorFlow, otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """One feature removed from one file, and the tests that must notice."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    backend: str | None = None


CLF = "tests/test_classifier.py::"
REG = "tests/test_regressor.py::"
CTRL = "tests/test_training_controls.py::"
SEC = "tests/test_security.py::"
PERS = "tests/test_persistence.py::"
EXP = "tests/test_experiment.py::"
DROPIN = "tests/test_dropin_defaults.py::"
EXPORT = "tests/test_export.py::"
TAB = "tests/test_tabular.py::"
OPT = "tests/test_optuna.py::"
OPT_PY = "skmlp/experiment/optuna_search.py"
TRACK = "tests/test_tracking.py::"
RESTORE = "        if self._best_weights is not None:\n            self.model.set_weights("
NO_RESTORE = "        if False:\n            self.model.set_weights("

MUTATIONS: list[Mutation] = [
    # ---------------------------------------------- the findings of issue 22
    Mutation(
        "early-stopping-keeps-last-weights",
        "skmlp/_stopping.py",
        RESTORE,
        NO_RESTORE,
        (CLF + "test_early_stopping_restores_the_best_epoch",),
    ),
    Mutation(
        "early-stopping-keeps-last-weights-regressor",
        "skmlp/_stopping.py",
        RESTORE,
        NO_RESTORE,
        (
            REG + "test_early_stopping_on_validation_r2",
            REG + "test_early_stopping_goes_back_to_the_best_r2",
        ),
    ),
    Mutation(
        "early-stopping-keeps-last-weights-jax",
        "skmlp/_stopping.py",
        RESTORE,
        NO_RESTORE,
        (CLF + "test_early_stopping_restores_the_best_epoch",),
        backend="jax",
    ),
    Mutation(
        "adam-keeps-its-starting-rate",
        "skmlp/_stopping.py",
        "            self.model.optimizer.learning_rate = self._rate_set = schedule.learning_rate",
        "            self._rate_set = schedule.learning_rate",
        (CTRL + "test_adam_follows_the_epoch_schedules_only",),
    ),
    Mutation(
        "adam-keeps-its-starting-rate-fused-jax",
        "skmlp/_stopping.py",
        "            self.model.optimizer.learning_rate = self._rate_set = schedule.learning_rate",
        "            self._rate_set = schedule.learning_rate",
        (CTRL + "test_adam_follows_the_epoch_schedules_only",),
        backend="jax",
    ),
    Mutation(
        "best-chosen-by-test-accuracy",
        "skmlp/experiment/run.py",
        'results["best"] = results["rank_cv"] == results["rank_cv"].min()',
        'results["best"] = results["test_accuracy"] == results["test_accuracy"].max()',
        (
            EXP + "test_best_is_chosen_by_cv_not_test",
            EXP + "test_best_is_chosen_by_cv_when_the_test_set_disagrees",
        ),
    ),
    Mutation(
        "sample-weights-reduced-to-0-1",
        "skmlp/_base.py",
        "        return _check_sample_weight(\n"
        "            sample_weight, X, dtype=self._compute_dtype(), ensure_non_negative=True\n"
        "        )",
        "        return (_check_sample_weight(\n"
        "            sample_weight, X, dtype=self._compute_dtype(), ensure_non_negative=True\n"
        "        ) > 0).astype(self._compute_dtype())",
        (
            CLF + "test_unequal_weights_act_as_repeated_rows",
            REG + "test_unequal_weights_give_the_weighted_mean",
            CLF + "test_class_weight_and_sample_weight",
            REG + "test_sample_weight",
        ),
    ),
    Mutation(
        "zip-member-read-before-its-budget",
        "skmlp/_persistence/_archive.py",
        "            name = info.filename\n"
        "            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):",
        "            name = info.filename\n            zf.read(info)\n"
        "            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):",
        (SEC + "test_hostile_file_is_refused_with_model_file_error",),
    ),
    Mutation(
        "max-norm-lost-on-load",
        "skmlp/_persistence/_keras.py",
        "                    clean.writestr(name, inner[name])\n",
        "                    clean.writestr(name, __import__('re').sub("
        "rb'\"max_value\": [0-9.e+-]+', b'\"max_value\": 1e9', inner[name]))\n",
        (CTRL + "test_controls_are_searchable_and_saved",),
    ),
    Mutation(
        "manifest-class-module-imported",
        "skmlp/_persistence/_files.py",
        '    cls_name = entry.get("class")\n'
        "    if not isinstance(cls_name, str) or cls_name not in classes:",
        '    cls_name = entry.get("class")\n'
        '    if isinstance(cls_name, str) and "." in cls_name:\n'
        "        import importlib\n"
        '        importlib.import_module(cls_name.rpartition(".")[0])\n'
        "    if not isinstance(cls_name, str) or cls_name not in classes:",
        (PERS + "test_file_naming_other_classes_imports_nothing",),
    ),
    Mutation(
        "network-config-module-imported",
        "skmlp/_persistence/_schema.py",
        '    name, module = value.get("class_name"), value.get("module")\n'
        '    registered = value.get("registered_name")',
        '    name, module = value.get("class_name"), value.get("module")\n'
        "    if isinstance(module, str):\n"
        "        __import__(module)\n"
        '    registered = value.get("registered_name")',
        (SEC + "test_a_file_cannot_make_skmlp_import_a_module",),
    ),
    Mutation(  # issue 24, finding 3: each place admits only its own kind of object
        "network-config-checked-by-class-not-place",
        "skmlp/_persistence/_schema.py",
        "        allowed, spec = CLASSES[kind].get(name, ((), None)) if isinstance(name, str) else",
        "        allowed, spec = next((t[name] for t in CLASSES.values() if name in t), ((), None))"
        " if isinstance(name, str) else",
        ("tests/test_trust_model_files.py::test_3_dense_layer_as_initializer_is_refused",),
    ),
    Mutation(  # issue 24, finding 6: members sharing their bytes
        "zip-members-may-overlap",
        "skmlp/_persistence/_archive.py",
        "        _check_layout(zf, infos, where)\n",
        "",
        ("tests/test_trust_model_files.py::test_6_overlapping_members_are_refused",),
    ),
    Mutation(
        "fused-epoch-shuffles-from-numpy-global",
        "skmlp/_training/fused.py",
        "            order = rng.permutation(n) if shuffle else np.arange(n)",
        "            order = np.random.permutation(n) if shuffle else np.arange(n)",
        (CLF + "test_seeded_fit_ignores_other_threads_random_draws",),
        backend="jax",
    ),
    Mutation(
        "partial-fit-epoch-shuffles-from-numpy-global",
        "skmlp/_training/engine.py",
        "    order = rng.permutation(n) if shuffle else np.arange(n)",
        "    order = np.random.permutation(n) if shuffle else np.arange(n)",
        (CLF + "test_partial_fit_ignores_other_threads_random_draws",),
    ),
    Mutation(
        "gallery-example-broken",
        "skmlp/_classifier.py",
        "        return self._fit(X, y, sample_weight, incremental=True, classes=classes)",
        '        raise RuntimeError("partial_fit broken")',
        ("tests/test_docs.py::test_docs_build_with_gallery",),
    ),
    Mutation(
        "dask-run-fits-locally",
        "skmlp/experiment/cluster.py",
        '    with joblib.parallel_config(backend="skmlp-dask", client=client):',
        '    with joblib.parallel_config(backend="loky"):',
        # the whole module, as the default run runs it: each test's evidence must be
        # its own, not left on the workers by the test before
        ("tests/test_dask.py",),
    ),
    Mutation(
        "finished-run-not-reused",
        "skmlp/experiment/run.py",
        '    if previous and previous.get("complete") and (out / "best_model.skmlp").is_file():',
        "    if False:",
        (EXP + "test_finished_run_is_reused_without_fitting",),
    ),
    Mutation(
        "finished-run-scores-not-recomputed",
        "skmlp/experiment/verify.py",
        "        check_metrics(results.iloc[i].to_dict(), computed, sets, path, name)\n",
        "",
        ("tests/test_trust_records.py::test_8_a_forged_test_accuracy_is_refused",),
    ),
    Mutation(
        "predict-labels-written-raw",
        "skmlp/_text.py",
        "    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):",
        "    if False:",
        (
            "tests/test_trust_records.py::"
            "test_10_hostile_labels_are_escaped_in_the_csv_and_on_the_terminal",
        ),
    ),
    Mutation(
        "network-weights-not-loaded",
        "skmlp/_persistence/_keras.py",
        '_KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")',
        '_KERAS_MEMBERS = ("config.json", "metadata.json")',
        ("skmlp/_persistence/_files.py::skmlp._persistence._files.save",),
    ),
    Mutation(
        "openml-target-misread",
        "skmlp/experiment/data.py",
        "    target = bunch.target_names[0] if bunch.target_names else None",
        "    target = bunch.feature_names[0] if bunch.target_names else None",
        ("tests/test_datasets.py::test_openml_by_name_through_scikit_learns_fetch_openml",),
    ),
    # ---------------------------------------- one per public training control
    Mutation(
        "dropout-left-out",
        "skmlp/_model.py",
        "        if dropout > 0:\n            layers.append(",
        "        if False:\n            layers.append(",
        (CLF + "test_batch_norm_and_dropout_train",),
    ),
    Mutation(
        "batch-norm-left-out",
        "skmlp/_model.py",
        "        if batch_norm:\n            layers.append(",
        "        if False:\n            layers.append(",
        (CLF + "test_batch_norm_and_dropout_train",),
    ),
    Mutation(
        "input-dropout-left-out",
        "skmlp/_model.py",
        "    if input_dropout > 0:\n        layers.append(",
        "    if False:\n        layers.append(",
        (CTRL + "test_input_dropout_drops_inputs_in_training_only",),
    ),
    Mutation(
        "max-norm-left-out",
        "skmlp/_model.py",
        "                else keras.constraints.MaxNorm(float(max_norm), axis=0),",
        "                else None,",
        (CTRL + "test_max_norm_bounds_every_hidden_unit",),
    ),
    Mutation(
        "adam-weight-decay-left-out",
        "skmlp/_optimizers.py",
        '        epsilon=float(p["epsilon"]),\n        weight_decay=_decay(p),',
        '        epsilon=float(p["epsilon"]),\n        weight_decay=None,',
        (CTRL + "test_adamw_shrinks_the_weights",),
    ),
    Mutation(
        "weight-decay-on-biases-too",
        "skmlp/_model.py",
        '    if optimizer is None or not getattr(optimizer, "weight_decay", None):\n        return',
        "    if True:\n        return",
        (
            CTRL + "test_weight_decay_is_decoupled_and_spares_biases",
            CTRL + "test_weight_decay_leaves_the_output_bias_free",
        ),
    ),
    Mutation(
        "cosine-schedule-constant",
        "skmlp/_schedules.py",
        "(1.0 + math.cos(math.pi * k / self.max_iter)) / 2.0",
        "1.0",
        (CTRL + "test_cosine_and_step_schedules",),
    ),
    Mutation(
        "step-schedule-constant",
        "skmlp/_schedules.py",
        "            return self.learning_rate_init / 10.0**drops",
        "            return self.learning_rate_init",
        (CTRL + "test_step_schedule_is_what_sgd_steps_with",),
    ),
    Mutation(
        "class-weight-ignored",
        "skmlp/_classifier.py",
        "        return class_weights if weights is None else weights * class_weights",
        "        return weights",
        (CLF + "test_class_weight_and_sample_weight",),
    ),
    Mutation(
        "early-stopping-never-counts",
        "skmlp/_stopping.py",
        "        if score < est.best_validation_score_ + est.tol:",
        "        if False:",
        (CLF + "test_early_stopping_and_validation_curves",),
    ),
    Mutation(
        "warm-start-starts-over",
        "skmlp/_base.py",
        "        first_pass = not fitted or (not self.warm_start and not incremental)",
        "        first_pass = not fitted or not incremental",
        (CLF + "test_warm_start_continues",),
    ),
    Mutation(
        "partial-fit-starts-over",
        "skmlp/_base.py",
        "        first_pass = not fitted or (not self.warm_start and not incremental)",
        "        first_pass = not fitted or not self.warm_start",
        (CLF + "test_partial_fit",),
    ),
    Mutation(
        "lbfgs-one-iteration",
        "skmlp/_training/lbfgs.py",
        '"maxiter": int(max_iter),',
        '"maxiter": 1,',
        ("tests/test_lbfgs.py::test_hidden_layer_fit_converges_and_sets_the_weights",),
    ),
    Mutation(
        "predictions-depend-on-row-order",
        "skmlp/_training/predict.py",
        "            out.append(keras.ops.convert_to_numpy(predict_on_batch(chunk))[:n])",
        "            out.append(keras.ops.convert_to_numpy(predict_on_batch(chunk))[:n][::-1])",
        (
            "tests/test_common.py::test_sklearn_compatible[MLPRegressor(batch_size=16,"
            "hidden_layer_sizes=(16,),learning_rate_init=0.01,max_iter=60,random_state=0)"
            "-check_methods_sample_order_invariance]",
        ),
    ),
    Mutation(
        "sparse-rows-misaligned-when-densified",
        "skmlp/_training/sparse.py",
        "    if sp.issparse(X) and dense_bytes(X) <= SPARSE_DENSE_BYTES:\n        X = X.toarray()",
        "    if sp.issparse(X) and dense_bytes(X) <= SPARSE_DENSE_BYTES:\n"
        "        X = X.toarray()[::-1]",
        (REG + "test_sparse_input", REG + "test_sparse_training_equals_dense_training"),
    ),
    Mutation(
        "classifier-not-tagged-a-classifier",
        "skmlp/_classifier.py",
        "        tags.classifier_tags.multi_label = True\n        return tags",
        "        tags.classifier_tags.multi_label = True\n"
        "        tags.estimator_type = None\n        return tags",
        (CLF + "test_grid_search_cv3_is_stratified_on_sorted_labels",),
    ),
    Mutation(
        "regressor-tagged-a-classifier",
        "skmlp/_regressor.py",
        "        tags.target_tags.single_output = True\n        return tags",
        "        tags.target_tags.single_output = True\n"
        '        tags.estimator_type = "classifier"\n        return tags',
        (REG + "test_cross_val_score_uses_kfold",),
    ),
    Mutation(
        "sparse-minibatches-reshuffled-by-keras",
        "skmlp/_training/sparse.py",
        "validation_data=val, shuffle=False, verbose=0",
        "validation_data=val, verbose=0",
        (
            CLF + "test_sparse_fit_ignores_other_threads_random_draws",
            REG + "test_sparse_training_equals_dense_training",
        ),
    ),
    # ---------------------------------------------- issue 25: scaling out
    Mutation(
        "records-left-by-a-killed-client-not-drained",
        "skmlp/experiment/cluster.py",
        "    _drain(queue, store, log)  # what fits that outlived a killed client sent",
        "    pass",
        (
            "tests/test_dask.py::"
            "test_a_killed_client_leaves_no_orphan_fits_and_resumes_without_refitting",
        ),
    ),
    Mutation(
        "one-thread-cluster-runs-fits-in-the-client",
        "skmlp/experiment/cluster.py",
        "            return max(2, super().effective_n_jobs(n_jobs))",
        "            return super().effective_n_jobs(n_jobs)",
        ("tests/test_dask.py::test_a_one_thread_cluster_runs_every_fit",),
    ),
    Mutation(
        "cancelled-task-starts-its-next-fit",
        "skmlp/experiment/cluster.py",
        '    if task is None or task.state == "cancelled":',
        "    if False:",
        ("tests/test_dask.py::test_a_cancelled_task_starts_no_further_fit",),
    ),
    Mutation(
        "workers-not-told-what-is-done",
        "skmlp/experiment/cluster.py",
        "    search.set_params(estimator__done=done, estimator__channel=queue.name)",
        "    search.set_params(estimator__channel=queue.name)",
        ("tests/test_dask.py::test_grid_search_with_the_store_on_workers_with_their_own_disk",),
    ),
    Mutation(
        "ranking-with-a-missing-score-chooses-silently",
        "skmlp/experiment/search.py",
        "    if missing:\n        named =",
        "    if False:\n        named =",
        (
            "tests/test_searches.py::"
            "test_a_ranking_with_a_missing_score_is_an_error_naming_the_candidate",
        ),
    ),
    # ---------------------------------------------- issue 26: scikit-learn's defaults
    Mutation(
        "default-start-not-logistic-gain",
        "skmlp/_model.py",
        '    factor = 2.0 if activation == "logistic" else 6.0',
        "    factor = 6.0",
        (DROPIN + "test_default_start_is_scikit_learns",),
    ),
    Mutation(
        "default-start-zero-biases",
        "skmlp/_model.py",
        "            keras.initializers.RandomUniform(-bound, bound, seed=bias_seed),",
        '            "zeros",',
        (DROPIN + "test_default_start_is_scikit_learns",),
    ),
    Mutation(
        "skmlp-run-forgets-the-seed-initializer",
        "skmlp/experiment/config.py",
        '    "kernel_initializer": "seed_notebook",\n',
        "",
        (DROPIN + "test_seed_architectures_and_skmlp_run_keep_the_seed_start",),
    ),
    Mutation(
        "later-alpha-ignored",
        "skmlp/_base.py",
        "            set_l2(self.model_, l2)",
        "            pass",
        (DROPIN + "test_a_later_alpha_applies_to_the_next_fit",),
    ),
    # ---------------------------------------------- issue 26: small-data speed
    Mutation(
        "no-persistent-compilation-cache",
        "skmlp/_backend.py",
        '    jax.config.update("jax_compilation_cache_dir", str(folder))',
        "    pass",
        (
            "tests/test_compilation_cache.py::test_second_fresh_process_loads_programs_from_the_cache",
        ),
        backend="jax",
    ),
    Mutation(
        "cache-keeps-only-slow-compiles",
        "skmlp/_backend.py",
        '    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)',
        "    pass",
        (
            "tests/test_compilation_cache.py::test_second_fresh_process_loads_programs_from_the_cache",
        ),
        backend="jax",
    ),
    # ---------------------------------------------- issue 30: export
    Mutation(
        "export-batch-norm-ignores-moving-mean",
        "skmlp/_export/_network.py",
        '    return ("scale", scale, beta - mean * scale)',
        '    return ("scale", scale, beta)',
        (
            EXPORT + "test_onnxruntime_computes_what_skmlp_predicts[batch-norm-dropout]",
            EXPORT + "test_onnxruntime_computes_what_skmlp_predicts[regressor]",
        ),
    ),
    Mutation(
        "export-binary-probabilities-swapped",
        "skmlp/_export/_skl2onnx.py",
        '        g.node("Concat", [negative, out], "proba", output=proba, axis=1)',
        '        g.node("Concat", [out, negative], "proba", output=proba, axis=1)',
        (EXPORT + "test_onnxruntime_computes_what_skmlp_predicts[binary-strings]",),
    ),
    Mutation(
        "export-card-trusts-any-model",
        "skmlp/_export/_card.py",
        "        if sha256_file(model_path) != expected:",
        "        if False:",
        (EXPORT + "test_cli_refuses_hostile_models_and_records",),
    ),
    Mutation(
        "export-writes-through-links",
        "skmlp/_export/_out.py",
        "    if os.path.islink(out):",
        "    if False:",
        (EXPORT + "test_output_rules",),
    ),
    # ---------------------------------------------------- issue 27: tables
    Mutation(
        "tabular-unseen-category-as-the-first",
        "skmlp/_tabular.py",
        "            rows = np.flatnonzero(codes >= 0)",
        "            rows = np.flatnonzero(codes >= -1)",
        (TAB + "test_encoder_computes_what_a_column_transformer_does",),
    ),
    Mutation(
        "tabular-no-missing-indicators",
        "skmlp/_tabular.py",
        "[c for c, m in zip(frame.columns, missing.any(axis=0), strict=True) if m]",
        "[]",
        (TAB + "test_encoder_computes_what_a_column_transformer_does",),
    ),
    Mutation(
        "tabular-extra-columns-ignored",
        "skmlp/_tabular.py",
        "        if extra:",
        "        if False:",
        (TAB + "test_column_order_unseen_categories_and_named_refusals",),
    ),
    Mutation(
        "tabular-state-not-cross-checked",
        "skmlp/_persistence/_state.py",
        '        schema["consistent"](state, where)',
        "        pass",
        (TAB + "test_hostile_tabular_state_is_refused",),
    ),
    Mutation(
        "tabular-settings-unchecked",
        "skmlp/experiment/config.py",
        "        check_settings(self)",
        "        pass",
        (TAB + "test_config_errors_are_one_line",),
    ),
    Mutation(
        "tabular-missing-target-not-refused",
        "skmlp/experiment/tabular.py",
        "    if not drop:",
        "    if False:",
        (TAB + "test_data_errors_are_one_line_before_any_fit",),
    ),
    Mutation(
        "refit-not-checkpointed",
        "skmlp/experiment/_refit_backup.py",
        "    mlp.set_params(callbacks=[*check_callbacks(callbacks), backup])",
        "    mlp.set_params(callbacks=callbacks)",
        (
            "tests/test_refit_resume.py::"
            "test_a_killed_refit_resumes_from_its_last_epoch_to_the_uninterrupted_result",
        ),
    ),
    Mutation(
        "refit-backup-unchecked",
        "skmlp/experiment/_refit_backup.py",
        "    except _BAD_BACKUP as exc:\n        set_aside(folder, exc, log)",
        "    except ():\n        set_aside(folder, exc, log)",
        ("tests/test_refit_resume.py::test_a_damaged_or_hostile_backup_is_set_aside_with_a_note",),
    ),
    # ------------------------------------- issue 29: searches from other libraries
    Mutation(
        "optuna-search-cv-cannot-prune",
        "skmlp/_classifier.py",
        "        return self._fit(X, y, sample_weight, incremental=True, classes=classes)",
        '        raise RuntimeError("no partial_fit")',
        (
            "tests/test_search_integrations.py::test_optuna_search_cv_prunes_fits_through_partial_fit",
        ),
    ),
    Mutation(
        "optuna-search-cv-seed-ignored",
        "skmlp/_base.py",
        "            return int(self.random_state)\n",
        "            return int(check_random_state(None).randint(_backend.MAX_SEED))\n",
        ("tests/test_search_integrations.py::test_optuna_search_cv_on_a_pipeline_is_seeded",),
    ),
    # ------------------------------------------------- issue 29: Optuna studies
    Mutation(
        "optuna-sampler-unseeded",
        OPT_PY,
        "    return TrialSeededSampler(lambda trial_seed: make(seed=trial_seed), seed)",
        "    return TrialSeededSampler(lambda trial_seed: make(), seed)",
        (OPT + "test_a_seeded_tpe_study_reproduces_its_trials",),
    ),
    Mutation(
        "optuna-pruning-never-stops-a-fit",
        OPT_PY,
        "                self.model.stop_training = True",
        "                pass",
        (OPT + "test_pruning_stops_fits_early",),
    ),
    Mutation(
        "optuna-pruned-trial-ranked",
        OPT_PY,
        "            if pruned:\n",
        "            if False:\n",
        (OPT + "test_a_pruned_trial_never_reaches_the_ranking_or_the_report",),
    ),
    Mutation(
        "optuna-killed-trial-not-retried",
        OPT_PY,
        "    for trial in found.values():",
        "    for trial in []:",
        (
            OPT + "test_a_trial_killed_as_it_was_created_is_failed",
            OPT + "test_a_killed_study_resumes_without_refitting_a_complete_trial",
        ),
    ),
    Mutation(
        "optuna-report-claimed-twice",
        "skmlp/experiment/_claims.py",
        "            return None if row.owner == self.owner else str(row.place)",
        "            return None",
        (OPT + "test_another_process_on_the_same_storage_reports_nothing",),
    ),
    Mutation(
        "optuna-storage-read-from-a-file",
        "skmlp/experiment/config.py",
        '    "storage": ("search", "choose which database your trials are sent to", "it", '
        '"--storage URL"),\n',
        "",
        (OPT + "test_bad_settings_are_one_line_errors_naming_the_file",),
    ),
    Mutation(
        "optuna-report-claimed-by-every-process",
        "skmlp/experiment/_claims.py",
        "            except IntegrityError:\n                pass\n",
        "            except IntegrityError:\n                return None\n",
        ("tests/test_postgres.py::test_runs_share_one_study_and_report_once",),
    ),
    Mutation(
        "optuna-sampler-seeded-once-per-process",
        OPT_PY,
        "    return TrialSeededSampler(lambda trial_seed: make(seed=trial_seed), seed)",
        "    return make(seed=seed)",
        ("tests/test_postgres.py::test_processes_sharing_a_study_draw_other_candidates",),
    ),
    # ------------------------------------------------ tracking (issue 28)
    Mutation(
        "tracking-resume-starts-a-second-run",
        "skmlp/experiment/_mlflow.py",
        '    if ml.get("run_id") and ml.get("uri") == tracking.uri:',
        "    if False:",
        (TRACK + "test_resumed_run_continues_the_same_mlflow_run",),
    ),
    Mutation(
        "tracking-one-child-only",
        "skmlp/experiment/_mlflow.py",
        "    for row in rows:",
        "    for row in rows[:1]:",
        (TRACK + "test_local_store_holds_the_search",),
    ),
    Mutation(
        "tracking-environment-uri-followed",
        "skmlp/experiment/_mlflow.py",
        "MlflowClient(tracking_uri=tracking.uri, registry_uri=tracking.uri)",
        "MlflowClient(tracking_uri=os.environ.get('MLFLOW_TRACKING_URI', tracking.uri))",
        (TRACK + "test_real_tracking_server",),
    ),
    Mutation(
        "tracking-uri-read-from-a-config-file",
        "skmlp/experiment/config.py",
        '    "tracking_uri": ("tracking", "choose where your results are sent", "it",\n',
        '    "_tracking_uri_": ("tracking", "choose where your results are sent", "it",\n',
        (TRACK + "test_a_config_file_may_not_name_the_tracking_store",),
    ),
    Mutation(
        "tracking-record-unchecked",
        "skmlp/experiment/tracking.py",
        "    problem = _state_problem(state)",
        "    problem = None",
        (TRACK + "test_hostile_tracking_record_is_refused",),
    ),
]
