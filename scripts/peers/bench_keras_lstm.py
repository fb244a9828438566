"""Keras 3 (TensorFlow backend) on examples/04_mnist_lstm's model: MNIST rows as 28 steps of 28
features, LSTM(128), Dense(10, softmax), Adam 1e-3, batch 128, 2 threads. Prints one JSON line
per epoch: wall time, steady images/s (the first 20 steps left out), test accuracy.

Usage: python bench_keras_lstm.py EPOCHS [PEERS_PYTHON_DIR]  (the folder of mnist_idx.py,
default ../shared/peers/python from the repository root)."""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(2)
import keras
from keras import layers

epochs = int(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "..", "shared", "peers", "python"))
import mnist_idx

keras.utils.set_random_seed(0)
x_tr, y_tr, x_te, y_te = mnist_idx.load()
x_tr, x_te = x_tr.reshape(-1, 28, 28), x_te.reshape(-1, 28, 28)
model = keras.Sequential([keras.Input((28, 28)), layers.LSTM(128), layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
yo_tr, yo_te = keras.utils.to_categorical(y_tr, 10), keras.utils.to_categorical(y_te, 10)


class StepTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = [time.perf_counter()]

    def on_train_batch_end(self, batch, logs=None):
        self.t.append(time.perf_counter())


BS, WARM = 128, 20
timer = StepTimer()
for ep in range(1, epochs + 1):
    t0 = time.perf_counter()
    model.fit(x_tr, yo_tr, batch_size=BS, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
    wall = time.perf_counter() - t0
    steady = (len(x_tr) - WARM * BS) / (timer.t[-1] - timer.t[WARM])
    loss, acc = model.evaluate(x_te, yo_te, batch_size=1000, verbose=0)
    print(json.dumps({"epoch": ep, "wall_s": round(wall, 2), "steady_img_s": round(steady),
                      "test_acc": float(acc)}), flush=True)
