# train.py: a small PyTorch training loop for the VS Code end-to-end test (e2e.js, check
# `program`): F5 on this file debugs it with layerscope. At step 2 an input turns NaN, so the
# NaN exception filter stops in the forward pass at module "0", called from the marked line.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
loss_fn = nn.MSELoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 4), torch.randn(16, 1)
for step in range(3):
    if step == 2:
        x[0, 0] = float("nan")
    loss = loss_fn(model(x), y)  # the NaN stop
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.4f}")
