from pipelines.steps import Pipeline

# Crear el pipeline sin pasar configuración de API (modo local)
pipeline = Pipeline()

def step_fails(data):
    raise Exception("Error en la tarea")

pipeline.set_steps([
    (step_fails, "Tarea fallida", "v1.0"),
])

try:
    resultado = pipeline.run({"input": "datos_iniciales"})
except Exception as e:
    print(f"Pipeline fallido: {str(e)}")
