//! Optimisers as single loops over the flat parameter vector.

use super::config::OptimizerKind;

/// Optimiser state: the step count and Adam's first and second moments
/// (empty for SGD). Saved in every checkpoint so a resumed run continues
/// exactly where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub lr: f32,
    pub weight_decay: f32,
    pub step: u64,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

impl Optimizer {
    pub fn new(kind: OptimizerKind, lr: f64, weight_decay: f64, n_params: usize) -> Optimizer {
        let moments = match kind {
            OptimizerKind::Adamw => n_params,
            OptimizerKind::Sgd => 0,
        };
        Optimizer {
            kind,
            lr: lr as f32,
            weight_decay: weight_decay as f32,
            step: 0,
            m: vec![0.0; moments],
            v: vec![0.0; moments],
        }
    }

    /// One update of `params` with `grads`, in place.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.step += 1;
        match self.kind {
            OptimizerKind::Adamw => self.adamw(params, grads),
            OptimizerKind::Sgd => {
                let (lr, wd) = (self.lr, self.weight_decay);
                for (p, g) in params.iter_mut().zip(grads) {
                    *p -= lr * (g + wd * *p);
                }
            }
        }
    }

    /// PyTorch's AdamW: decay first, then the bias-corrected Adam step.
    fn adamw(&mut self, params: &mut [f32], grads: &[f32]) {
        let t = self.step as i32;
        let bias1 = 1.0 - BETA1.powi(t);
        let bias2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
        let step_size = self.lr / bias1;
        let decay = 1.0 - self.lr * self.weight_decay;
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *p *= decay;
            *m = BETA1 * *m + (1.0 - BETA1) * g;
            *v = BETA2 * *v + (1.0 - BETA2) * g * g;
            *p -= step_size * *m / (v.sqrt() / bias2_sqrt + EPS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adamw_first_step_moves_each_param_by_lr() {
        // On step 1 Adam's update is lr * g / |g| (plus decay), whatever |g|.
        let mut opt = Optimizer::new(OptimizerKind::Adamw, 0.1, 0.0, 2);
        let mut p = vec![1.0f32, -1.0];
        opt.step(&mut p, &[5.0, -0.001]);
        assert!(
            (p[0] - 0.9).abs() < 1e-5 && (p[1] + 0.9).abs() < 1e-3,
            "{p:?}"
        );
        // Decoupled decay shrinks the parameter even with a zero gradient.
        let mut opt = Optimizer::new(OptimizerKind::Adamw, 0.1, 0.5, 1);
        let mut p = vec![2.0f32];
        opt.step(&mut p, &[0.0]);
        assert!((p[0] - 1.9).abs() < 1e-6);
    }

    #[test]
    fn sgd_steps_against_the_gradient() {
        let mut opt = Optimizer::new(OptimizerKind::Sgd, 0.5, 0.0, 1);
        let mut p = vec![1.0f32];
        opt.step(&mut p, &[0.4]);
        assert_eq!(p[0], 0.8);
        assert!(opt.m.is_empty());
    }
}
