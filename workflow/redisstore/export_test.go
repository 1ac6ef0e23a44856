package redisstore

// SetPageBudget lets a test make page.lua give up walking at once, so that
// the intersection in Redis answers (see defaultPageBudget).
func (s *Store) SetPageBudget(n int) { s.pageBudget = n }
