"""wpipe's README examples run on ``pipelines.steps`` with only the import line changed.

The ten examples of the README in local mode (files in ``wpipe_readme/``,
see its README.md for where each comes from):

1. ``uso_local.py``: Configuración, "1. Uso local (sin API)";
2. ``uso.py``: Uso, "Ejemplo de definición de pasos" + "Ejemplo de ejecución";
3. ``ejemplo_01.py``: Ejemplo 1, ejecución local básica;
4. ``ejemplo_03.py``: Ejemplo 3, manejo de errores en las tareas;
5. ``ejemplo_04.py``: Ejemplo 4, reutilización con ``set_steps``;
6. ``ejemplo_06.py``: Ejemplo 6, funciones asincrónicas (``await pipeline.run``);
7. ``ejemplo_07.py``: Ejemplo 7, tareas dependientes del resultado anterior;
8. ``ejemplo_08.py``: Ejemplo 8, limpieza y procesamiento de datos;
9. ``ejemplo_09.py``: Ejemplo 9, logs personalizados;
10. ``ejemplo_10.py``: Ejemplo 10, validación de entrada.

Plus the "Manejo de Errores" block (``manejo_de_errores.py``). Ejemplos 2 and
5 and the Docker section talk to wpipe's remote API (``api_config``), so they
are not local mode; their tracking calls run here against the run store
(the last tests).

Each file runs as a script in a fresh interpreter with warnings as errors;
its whole output is compared.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.steps import Pipeline, StepError
from pipelines.store import Store

EXAMPLES = Path(__file__).resolve().parent / "wpipe_readme"
IMPORT = "from pipelines.steps import Pipeline\n"

#: (file, stdout, stderr) of each example.
RUNS = {
    "uso_local.py": (
        "Resultado final: {'input': 'datos_iniciales', 'resultado1': 'Paso 1 completado',"
        " 'resultado2': 'Paso 2 completado', 'resultado3': 'Paso 3 completado'}\n",
        "",
    ),
    "uso.py": (
        "Resultado final: {'input': 'datos_iniciales', 'resultado1': 'Paso 1 completado',"
        " 'resultado2': 'Paso 2 completado'}\n",
        "",
    ),
    "ejemplo_01.py": (
        "[1/2] Tarea 1 v1.0\n"
        "Ejecutando tarea 1...\n"
        "[2/2] Tarea 2 v1.0\n"
        "Ejecutando tarea 2...\n"
        "Resultado final: {'dato_inicial': 'valor', 'resultado1': 'Tarea 1 completada',"
        " 'resultado2': 'Tarea 2 completada'}\n",
        "",
    ),
    "ejemplo_03.py": (
        "[1/2] Tarea 1 v1.0\n"
        "Ejecutando tarea 1...\n"
        "[2/2] Tarea con error v1.0\n"
        "Ejecutando tarea con error...\n"
        "[2/2] Tarea con error v1.0 failed: Exception: Error en la tarea\n"
        "Pipeline fallido: step 'Tarea con error' v1.0 failed: Exception: Error en la tarea\n",
        "",
    ),
    "ejemplo_04.py": (
        "[1/2] Tarea A v1.0\n"
        "[2/2] Tarea B v1.0\n"
        "Resultado pipeline 1: {'dato_inicial': 'valor1', 'resultadoA': 'Tarea A completada',"
        " 'resultadoB': 'Tarea B completada'}\n"
        "[1/2] Tarea X v1.0\n"
        "[2/2] Tarea Y v1.0\n"
        "Resultado pipeline 2: {'dato_inicial': 'valor2', 'resultadoX': 'Tarea X completada',"
        " 'resultadoY': 'Tarea Y completada'}\n",
        "",
    ),
    "ejemplo_06.py": (
        "[1/2] Tarea 1 (async) v1.0\n"
        "[2/2] Tarea 2 (async) v1.0\n"
        "Resultado final (async): {'dato_inicial': 'valor',"
        " 'resultado1': 'Tarea 1 completada (async)',"
        " 'resultado2': 'Tarea 2 completada (async)'}\n",
        "",
    ),
    "ejemplo_07.py": (
        "[1/2] Tarea 1 v1.0\n"
        "Ejecutando tarea 1...\n"
        "[2/2] Tarea 2 v1.0\n"
        "Resultado final: {'dato_inicial': 'valor', 'valor_intermedio': 10,"
        " 'resultado2': 'Tarea 2 completada, multiplicando: 20'}\n",
        "",
    ),
    "ejemplo_08.py": (
        "[1/2] Limpiar Datos v1.0\n"
        "[2/2] Procesar Datos v1.0\n"
        "Resultado final: {'raw_data': '   datos en crudo   ', 'datos_limpios': 'datos en crudo',"
        " 'datos_procesados': 'DATOS EN CRUDO'}\n",
        "",
    ),
    "ejemplo_09.py": (
        "[1/2] Tarea 1 v1.0\n[2/2] Tarea 2 v1.0\n",
        "INFO:root:Ejecutando tarea 1...\n"
        "INFO:root:Ejecutando tarea 2...\n"
        "INFO:root:Resultado final: {'dato_inicial': 'valor', 'resultado1': 'Tarea 1 completada',"
        " 'resultado2': 'Tarea 2 completada'}\n",
    ),
    "ejemplo_10.py": (
        "[1/2] Validación de Entrada v1.0\n"
        "[2/2] Tarea 1 v1.0\n"
        "Resultado final: {'dato_inicial': 'valor', 'resultado1': 'Tarea 1 completada'}\n",
        "",
    ),
    "manejo_de_errores.py": (
        "Pipeline fallido: step 'Tarea fallida' v1.0 failed: Exception: Error en la tarea\n",
        "",
    ),
}
TEN = [name for name in RUNS if name != "manejo_de_errores.py"]


def test_the_ten_examples_and_the_error_block_are_all_here():
    assert len(TEN) == 10
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_example_imports_pipelines_steps_and_nothing_of_wpipe(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert text.startswith(IMPORT)
    assert text.count("from pipelines") == 1 and "import pipelines" not in text
    assert "wpipe" not in text


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_example_prints_what_it_must(name, tmp_path):
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    stdout, stderr = RUNS[name]
    assert (done.returncode, done.stderr) == (0, stderr)
    assert done.stdout == stdout


# -- the README's remote-mode tracking calls, against the run store --------------------


def step1(data):
    return {"resultado1": "Paso 1 completado"}


def step2(data):
    return {"resultado2": "Paso 2 completado"}


class Demo:
    def __call__(self, data: dict):
        return {"resultado3": "Paso 3 completado"}


def test_the_docker_section_s_tracking_calls_record_into_the_store(tmp_path):
    """The README's section "2. Uso con servicio de API", with ``store`` in place of
    ``api_config``; the rest as written, its healthcheck thread's 20 s wait made short."""
    path = tmp_path / "runs.db"
    NAME = "microservicio_1"
    VERSION = "v1.0"
    pipeline = Pipeline(store=path)
    pipeline.set_steps(
        [
            (step1, "Paso 1", "v1.0"),
            (step2, "Paso 2", "v1.0"),
            (Demo(), "Paso 3", "v1.0"),
        ]
    )
    worker_id = pipeline.worker_register(name=NAME, version=VERSION)
    pipeline.set_worker_id(worker_id)
    stop_event = threading.Event()
    beats = []

    def worker_healthchecker():
        stop = False
        while not stop:
            beats.append(pipeline.healthcheck_worker(worker_id))
            stop = stop_event.wait(0.01)

    healthchecker_thread = threading.Thread(target=worker_healthchecker)
    healthchecker_thread.start()
    resultado = pipeline.run({"input": "datos_iniciales"})
    stop_event.set()
    healthchecker_thread.join()
    pipeline.close()

    assert resultado == {
        "input": "datos_iniciales",
        "resultado1": "Paso 1 completado",
        "resultado2": "Paso 2 completado",
        "resultado3": "Paso 3 completado",
    }
    assert set(worker_id) == {"id", "name", "version", "tasks"}
    assert (worker_id["name"], worker_id["version"]) == (NAME, VERSION)
    assert worker_id["tasks"] == [
        {"name": "Paso 1", "version": "v1.0"},
        {"name": "Paso 2", "version": "v1.0"},
        {"name": "Paso 3", "version": "v1.0"},
    ]
    assert beats and {(b["id"], b["name"], b["status"]) for b in beats} == {
        (worker_id["id"], NAME, "online")
    }
    with Store(path) as store:
        (run,) = store.runs()
        worker = store.worker(worker_id["id"])
        assert (worker.name, worker.version, worker.status) == (NAME, VERSION, "offline")
        assert (run.pipeline, run.status, run.worker, run.version) == (
            NAME,
            "completed",
            NAME,
            VERSION,
        )
        detail = store.run(run.id)
        assert list(detail.nodes) == ["Paso 1", "Paso 2", "Paso 3"]
        assert [(n.kind, n.state, n.emitted) for n in detail.nodes.values()] == [
            ("source", "done", 1),
            ("transform", "done", 1),
            ("sink", "done", 1),
        ]
        assert all(n.busy is not None and n.busy >= 0 for n in detail.nodes.values())


def test_newer_examples_set_the_id_from_the_dict_and_a_saved_id_comes_back(tmp_path):
    """wpipe's later examples write ``set_worker_id(worker_id.get("id"))``; its README says to
    keep the id on disk and use it again in the next run of the script."""
    path = tmp_path / "runs.db"
    with Pipeline(store=path) as pipeline:
        pipeline.set_steps([(step1, "Paso 1", "v1.0")])
        worker_id = pipeline.worker_register(name="example_pipeline", version="v1.0.0")
        pipeline.set_worker_id(worker_id.get("id"))
        pipeline.run({"x": 42})
    saved = worker_id["id"]
    with Pipeline(store=path) as again:  # the next start of the script
        again.set_steps([(step1, "Paso 1", "v1.0")])
        again.set_worker_id(saved)
        assert again.healthcheck_worker(saved)["status"] == "online"
        again.run({"x": 43})
    with Store(path) as store:
        runs = store.runs()
        assert [(r.pipeline, r.worker, r.worker_id) for r in runs] == [
            ("example_pipeline", "example_pipeline", saved)
        ] * 2
        assert [w.id for w in store.workers()] == [saved]


def test_a_failed_run_is_recorded_with_the_step_that_failed(tmp_path):
    def tarea_falla(data):
        raise Exception("Error en la tarea")

    with Pipeline(store=tmp_path / "runs.db") as pipeline:
        pipeline.set_steps([(step1, "Tarea 1", "v1.0"), (tarea_falla, "Tarea con error", "v1.0")])
        with pytest.raises(StepError):
            pipeline.run({"dato_inicial": "valor"})
        run_id = pipeline.last_run_id
    with Store(tmp_path / "runs.db") as store:
        run = store.run(run_id)
        assert run.status == "failed"
        assert (run.error.node, run.error.type, run.error.message) == (
            "Tarea con error",
            "Exception",
            "Error en la tarea",
        )
        assert [(n.state, n.failed) for n in run.nodes.values()] == [("done", 0), ("failed", 1)]
    time.sleep(0)  # nothing left running: the autouse fixture checks threads
