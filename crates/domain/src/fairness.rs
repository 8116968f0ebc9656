//! Fair sharing of one worker between tenants: deficit round robin.
//!
//! Work is queued per tenant. Each round, every tenant with work gets `quantum` more credit and
//! takes items from the front of its queue while their cost fits its credit. A tenant that
//! floods the queue gets its quantum per round like everybody else, so a quiet tenant's item
//! is taken within one round of arriving, however long the flood's queue is. Credit is not
//! hoarded: a tenant whose queue empties loses what it had left.
//!
//! A tenant whose queue was empty goes ahead of the tenants already waiting (as new flows do
//! in FQ-CoDel): an occasional alert is taken next, not after one more quantum of every flood.
//! It still gets one quantum per turn, so a tenant cannot use this to take more than its share.
//! Until it is served it is "newly waiting", which lets the engine commit its work on its own
//! (`take_from`) rather than inside a flood's transaction; work a transaction took and then
//! rolled back returns to the front of its queue (`put_back`).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

pub struct DeficitRoundRobin<K, T> {
    queues: HashMap<K, VecDeque<(T, u64)>>,
    /// Tenants with queued work, in round-robin order; the front one is served next.
    active: VecDeque<K>,
    deficits: HashMap<K, u64>,
    quantum: u64,
    queued_items: usize,
    /// The cost of every queued item together.
    queued_cost: u64,
    /// The front tenant's round was cut short by a full batch: it continues without a new
    /// quantum.
    front_round_unfinished: bool,
    /// Tenants whose work arrived to an empty queue and who have not been served since, in
    /// the order they arrived: the quiet ones, as opposed to those with a backlog.
    newly_waiting: Vec<K>,
}

impl<K: Clone + Eq + Hash, T> DeficitRoundRobin<K, T> {
    /// `quantum` is the cost a tenant may take per round; it must be at least 1.
    pub fn new(quantum: u64) -> DeficitRoundRobin<K, T> {
        debug_assert!(quantum >= 1);
        DeficitRoundRobin {
            queues: HashMap::new(),
            active: VecDeque::new(),
            deficits: HashMap::new(),
            quantum: quantum.max(1),
            queued_items: 0,
            queued_cost: 0,
            front_round_unfinished: false,
            newly_waiting: Vec::new(),
        }
    }

    /// Queues `item` for `tenant`. `cost` is how much of a round it uses (at least 1).
    pub fn push(&mut self, tenant: K, item: T, cost: u64) {
        let queue = self.queues.entry(tenant.clone()).or_default();
        if queue.is_empty() {
            // Behind the front tenant when its round was cut short: it continues first.
            let position = usize::from(self.front_round_unfinished).min(self.active.len());
            self.active.insert(position, tenant.clone());
            if !self.newly_waiting.contains(&tenant) {
                self.newly_waiting.push(tenant);
            }
        }
        queue.push_back((item, cost.max(1)));
        self.queued_items += 1;
        self.queued_cost += cost.max(1);
    }

    pub fn len(&self) -> usize {
        self.queued_items
    }

    /// The cost of all queued work together.
    pub fn cost(&self) -> u64 {
        self.queued_cost
    }

    /// How many tenants have work queued.
    pub fn tenants(&self) -> usize {
        self.active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued_items == 0
    }

    /// Tenants whose work arrived to an empty queue and who have not been served since.
    pub fn newly_waiting(&self) -> &[K] {
        &self.newly_waiting
    }

    fn served(&mut self, tenant: &K) {
        self.newly_waiting.retain(|waiting| waiting != tenant);
    }

    /// Takes up to `budget` of `tenant`'s items, in its order, outside the round: for a
    /// newcomer that a transaction in progress gave way to. At least one item goes when the
    /// tenant has any; its credit is not charged, since it takes no more than a newcomer's
    /// first turn would give it.
    pub fn take_from(&mut self, tenant: &K, budget: u64) -> Vec<T> {
        let mut taken = Vec::new();
        self.served(tenant);
        let Some(queue) = self.queues.get_mut(tenant) else { return taken };
        let mut spent = 0_u64;
        while let Some((_, cost)) = queue.front() {
            if spent + *cost > budget && !taken.is_empty() {
                break;
            }
            spent += *cost;
            let (item, cost) = queue.pop_front().expect("front exists");
            self.queued_items -= 1;
            self.queued_cost -= cost;
            taken.push(item);
        }
        if queue.is_empty() {
            self.queues.remove(tenant);
            self.deficits.remove(tenant);
            let position = self.active.iter().position(|active| active == tenant).expect("a tenant with a queue is active");
            self.active.remove(position);
            if position == 0 {
                self.front_round_unfinished = false;
            }
        }
        taken
    }

    /// Puts items taken earlier back at the front of `tenant`'s queue, in the order given, with
    /// the credit they cost refunded: work a rolled-back transaction had taken goes again as
    /// if it had never been taken.
    pub fn put_back(&mut self, tenant: K, items: Vec<(T, u64)>) {
        if items.is_empty() {
            return;
        }
        if !self.queues.contains_key(&tenant) {
            self.active.push_back(tenant.clone());
        }
        let refund: u64 = items.iter().map(|(_, cost)| (*cost).max(1)).sum();
        *self.deficits.entry(tenant.clone()).or_insert(0) += refund;
        self.queued_cost += refund;
        let queue = self.queues.entry(tenant).or_default();
        self.queued_items += items.len();
        for (item, cost) in items.into_iter().rev() {
            queue.push_front((item, cost.max(1)));
        }
    }

    /// Takes items in fair order until their total cost reaches `budget` or nothing is left.
    /// An item costlier than the budget is still taken when it comes first, so nothing waits
    /// forever.
    pub fn take(&mut self, budget: u64) -> Vec<T> {
        let mut taken = Vec::new();
        let mut spent = 0_u64;
        while spent < budget {
            let Some(tenant) = self.active.pop_front() else { break };
            self.served(&tenant);
            let deficit = self.deficits.entry(tenant.clone()).or_insert(0);
            if !std::mem::take(&mut self.front_round_unfinished) {
                *deficit += self.quantum;
            }
            let queue = self.queues.get_mut(&tenant).expect("active tenants have a queue");
            let mut batch_full = false;
            while let Some((_, cost)) = queue.front() {
                let cost = *cost;
                if cost > *deficit {
                    break;
                }
                if spent + cost > budget && !taken.is_empty() {
                    batch_full = true;
                    break;
                }
                let (item, _) = queue.pop_front().expect("front exists");
                *deficit -= cost;
                spent += cost;
                self.queued_items -= 1;
                self.queued_cost -= cost;
                taken.push(item);
            }
            if queue.is_empty() {
                self.queues.remove(&tenant);
                self.deficits.remove(&tenant);
            } else if batch_full {
                self.active.push_front(tenant);
                self.front_round_unfinished = true;
                break;
            } else {
                self.active.push_back(tenant);
            }
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drr(quantum: u64, items: &[(&'static str, u32, u64)]) -> DeficitRoundRobin<&'static str, u32> {
        let mut queues = DeficitRoundRobin::new(quantum);
        for (tenant, item, cost) in items {
            queues.push(*tenant, *item, *cost);
        }
        queues
    }

    #[test]
    fn a_quiet_tenant_is_served_before_a_floods_next_quantum() {
        // Tenant a queued 1,000 items of cost 100 before b's single item arrived.
        let mut queues = DeficitRoundRobin::new(100);
        for item in 0..1000 {
            queues.push("a", item, 100);
        }
        queues.push("b", 5000, 1);
        let first = queues.take(300);
        assert_eq!(first, vec![5000, 0, 1], "b, newly waiting, goes before a's next quantum");
        assert_eq!(queues.len(), 998);
        assert_eq!(queues.take(200), vec![2, 3]);
    }

    #[test]
    fn a_tenant_arriving_while_a_slice_is_applied_leads_the_next() {
        // The engine takes a slice (one quantum) at a time; b arrives while a's first is applied.
        let mut queues = DeficitRoundRobin::new(32);
        for item in 0..100 {
            queues.push("a", item, 1);
        }
        assert_eq!(queues.take(32), (0..32).collect::<Vec<_>>());
        assert!(queues.newly_waiting().is_empty(), "a has been served");
        queues.push("b", 5000, 1);
        assert_eq!(queues.newly_waiting(), &["b"]);
        assert_eq!(queues.take(32).first(), Some(&5000), "b's item leads the next slice");
    }

    #[test]
    fn a_tenant_that_keeps_emptying_its_queue_still_gets_one_quantum_per_turn() {
        let mut queues = DeficitRoundRobin::new(10);
        for item in 0..100 {
            queues.push("a", item, 10);
        }
        let (mut a_cost, mut c_cost) = (0, 0);
        for round in 0..20 {
            queues.push("c", 1000 + round, 10);
            for item in queues.take(20) {
                if item >= 1000 { c_cost += 10 } else { a_cost += 10 }
            }
        }
        assert_eq!((a_cost, c_cost), (200, 200));
    }

    #[test]
    fn tenants_share_by_cost_not_by_item_count() {
        // a sends big batches, b small ones; per round each gets the same cost.
        let mut queues = DeficitRoundRobin::new(10);
        for item in 0..10 {
            queues.push("a", item, 10);
        }
        for item in 0..30 {
            queues.push("b", 100 + item, 1);
        }
        let taken = queues.take(40);
        let a_cost: u64 = taken.iter().filter(|item| **item < 100).count() as u64 * 10;
        let b_cost: u64 = taken.iter().filter(|item| **item >= 100).count() as u64;
        assert_eq!((a_cost, b_cost), (20, 20));
    }

    #[test]
    fn a_transaction_gives_way_to_a_newcomer_and_takes_its_work_again() {
        // The engine took a's first slice, then b arrived: the slice is put back, b's work goes
        // alone, and a's comes again in its order with nothing lost.
        let mut queues = DeficitRoundRobin::new(4);
        for item in 0..10 {
            queues.push("a", item, 1);
        }
        let rolled_back = queues.take(4);
        assert_eq!(rolled_back, vec![0, 1, 2, 3]);
        queues.push("b", 100, 1);
        queues.push("b", 101, 1);
        assert_eq!(queues.take_from(&"b", 1), vec![100], "only b's, up to the budget");
        queues.put_back("a", rolled_back.into_iter().map(|item| (item, 1)).collect());
        assert_eq!(queues.take_from(&"b", 4), vec![101]);
        assert_eq!(queues.tenants(), 1, "b's queue is empty: it is no longer waiting");
        assert!(queues.take_from(&"b", 4).is_empty());
        let mut rest = Vec::new();
        while !queues.is_empty() {
            rest.extend(queues.take(3));
        }
        assert_eq!(rest, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn work_put_back_after_its_queue_emptied_is_queued_again() {
        let mut queues = drr(10, &[("a", 1, 2), ("a", 2, 2), ("c", 30, 1)]);
        let taken = queues.take(5);
        assert_eq!(taken, vec![30, 1, 2], "c, newly waiting, went first");
        assert!(queues.is_empty());
        queues.put_back("a", vec![(1, 2), (2, 2)]);
        assert_eq!((queues.len(), queues.tenants()), (2, 1));
        assert_eq!(queues.take(10), vec![1, 2]);
    }

    #[test]
    fn an_item_costlier_than_everything_still_goes_out() {
        let mut queues = drr(10, &[("a", 1, 1000)]);
        assert_eq!(queues.take(50), vec![1]);
        assert!(queues.is_empty());
        assert!(queues.take(50).is_empty());
    }

    #[test]
    fn the_queued_cost_follows_what_is_taken_and_put_back() {
        let mut queues = drr(4, &[("a", 1, 3), ("a", 2, 3), ("b", 10, 2)]);
        assert_eq!(queues.cost(), 8);
        let taken_from_b = queues.take_from(&"b", 10);
        assert_eq!((taken_from_b, queues.cost()), (vec![10], 6));
        let taken = queues.take(3);
        assert_eq!((taken.clone(), queues.cost()), (vec![1], 3));
        queues.put_back("a", taken.into_iter().map(|item| (item, 3)).collect());
        assert_eq!(queues.cost(), 6);
    }

    #[test]
    fn order_within_a_tenant_is_kept_and_nothing_is_lost() {
        let mut queues = drr(3, &[("a", 1, 2), ("b", 10, 1), ("a", 2, 2), ("b", 11, 5), ("a", 3, 1), ("c", 20, 1)]);
        assert_eq!(queues.cost(), 12);
        let mut all = Vec::new();
        while !queues.is_empty() {
            all.extend(queues.take(4));
        }
        assert_eq!(queues.cost(), 0);
        let of = |range: std::ops::Range<u32>| all.iter().copied().filter(|item| range.contains(item)).collect::<Vec<_>>();
        assert_eq!(of(0..10), vec![1, 2, 3]);
        assert_eq!(of(10..20), vec![10, 11]);
        assert_eq!(of(20..30), vec![20]);
    }
}
